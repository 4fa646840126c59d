package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.ProxyExchange;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * Finds the {@link UserPolicy} of an authenticated proxy user (see {@link
 * ForwardProxyBuilder#userPolicies}): each request, {@code CONNECT} included, is decided by its user's
 * rules instead of one policy for everyone. Called on the I/O thread once the user has authenticated:
 * a look-up that blocks (a directory, a database) must run on {@code exchange.blockingExecutor()} and
 * return that stage; a look-up that is slow every time should cache (Caffeine's {@code AsyncCache}
 * does both).
 *
 * <pre>{@code
 * UserPolicies byGroup = (user, exchange) -> CompletableFuture
 *     .supplyAsync(() -> directory.groupOf(user), exchange.blockingExecutor())
 *     .thenApply(group -> group.equals("contractors") ? contractors : engineers);
 * }</pre>
 *
 * <p>A failed stage, or a {@code null} policy, fails the request with 500. The requests decrypted from
 * an intercepted tunnel are decided by the policy the user had when the tunnel was opened.
 */
@FunctionalInterface
public interface UserPolicies {

  /** The rules for {@code user}, who has just authenticated for {@code exchange}. */
  CompletionStage<@Nullable UserPolicy> lookup(String user, ProxyExchange exchange);

  /** A fixed table: each user named in {@code users} gets that policy, anyone else {@code others}. */
  static UserPolicies byUser(Map<String, UserPolicy> users, UserPolicy others) {
    Map<String, UserPolicy> copy = Map.copyOf(Objects.requireNonNull(users, "users"));
    Objects.requireNonNull(others, "others");
    return (user, exchange) -> CompletableFuture.completedFuture(copy.getOrDefault(user, others));
  }
}
