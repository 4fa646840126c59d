package dev.gatehouse.proxy.auth;

import dev.gatehouse.proxy.ProxyExchange;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Finds the consumer an API key belongs to, for {@link ApiKeyAuth}. Called on the I/O thread: a lookup
 * that blocks (a database, a remote service) must run on {@code exchange.blockingExecutor()} (or be
 * asynchronous) and return that stage.
 *
 * <pre>{@code
 * ApiKeyLookup fromDatabase = (key, exchange) -> CompletableFuture.supplyAsync(
 *     () -> consumers.findByKeyHash(sha256(key)).map(c -> Principal.of(c.name(), "api-key", Map.of("plan", c.plan()))),
 *     exchange.blockingExecutor());
 * }</pre>
 */
@FunctionalInterface
public interface ApiKeyLookup {

  /**
   * Completes with the consumer of {@code key}, or empty when the key is unknown. A failed stage means
   * the lookup could not be made (the client gets 503), not that the key is wrong.
   */
  CompletionStage<Optional<Principal>> find(String key, ProxyExchange exchange);
}
