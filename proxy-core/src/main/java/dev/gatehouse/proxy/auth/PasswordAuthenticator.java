package dev.gatehouse.proxy.auth;

import dev.gatehouse.proxy.ProxyExchange;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Checks a user name and password, for {@link BasicAuth} (the same shape as the forward proxy's {@code
 * ProxyAuthenticator}, whose instances fit with a method reference: {@code proxyAuth::authenticate}).
 * Called on the I/O thread: a check that blocks (a database, LDAP) must run on {@code
 * exchange.blockingExecutor()} and return that stage.
 */
@FunctionalInterface
public interface PasswordAuthenticator {

  /**
   * Completes with {@code true} when the credentials are valid. A failed stage means the check could
   * not be made (503), not a wrong password.
   */
  CompletionStage<Boolean> authenticate(String user, String password, ProxyExchange exchange);

  /**
   * A fixed set of users and their passwords, kept as SHA-256 hashes and compared in constant time.
   *
   * @throws IllegalArgumentException if a user name contains {@code :} or is empty
   */
  static PasswordAuthenticator users(Map<String, String> passwords) {
    Objects.requireNonNull(passwords, "passwords");
    Map<String, byte[]> hashes = new HashMap<>();
    passwords.forEach((user, password) -> {
      Objects.requireNonNull(user, "user");
      Objects.requireNonNull(password, "password");
      if (user.isEmpty() || user.indexOf(':') >= 0) {
        throw new IllegalArgumentException("users: \"" + user + "\" (expected: a non-empty user name without ':')");
      }
      hashes.put(user, Secrets.sha256(password));
    });
    byte[] nobody = Secrets.sha256("\0no such user\0");
    return (user, password, exchange) -> {
      byte[] expected = hashes.get(user);
      boolean equal = MessageDigest.isEqual(expected == null ? nobody : expected, Secrets.sha256(password));
      return CompletableFuture.completedFuture(equal && expected != null);
    };
  }
}
