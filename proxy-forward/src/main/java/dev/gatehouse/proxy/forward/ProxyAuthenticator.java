package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.ProxyExchange;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Checks the user name and password a client sent in {@code Proxy-Authorization: Basic}. Called on the
 * I/O thread: a check that blocks (a database, LDAP) must run on {@code exchange.blockingExecutor()}
 * and return that stage.
 *
 * <pre>{@code
 * ProxyAuthenticator ldap = (user, password, exchange) ->
 *     CompletableFuture.supplyAsync(() -> directory.check(user, password), exchange.blockingExecutor());
 * }</pre>
 */
@FunctionalInterface
public interface ProxyAuthenticator {

  /**
   * Completes with {@code true} when the credentials are valid. A failed stage is treated as an error
   * (500), not as a wrong password.
   */
  CompletionStage<Boolean> authenticate(String user, String password, ProxyExchange exchange);

  /**
   * A fixed set of users and their passwords, compared in constant time.
   *
   * @throws IllegalArgumentException if a user name contains {@code :} or is empty
   */
  static ProxyAuthenticator users(Map<String, String> passwords) {
    Objects.requireNonNull(passwords, "passwords");
    Map<String, byte[]> copy = new HashMap<>();
    passwords.forEach((user, password) -> {
      Objects.requireNonNull(user, "user");
      Objects.requireNonNull(password, "password");
      if (user.isEmpty() || user.indexOf(':') >= 0) {
        throw new IllegalArgumentException("users: \"" + user + "\" (expected: a non-empty user name without ':')");
      }
      copy.put(user, password.getBytes(StandardCharsets.UTF_8));
    });
    byte[] none = new byte[0];
    return (user, password, exchange) -> {
      byte[] expected = copy.get(user);
      boolean ok = MessageDigest.isEqual(expected == null ? none : expected, password.getBytes(StandardCharsets.UTF_8))
          && expected != null;
      return CompletableFuture.completedFuture(ok);
    };
  }
}
