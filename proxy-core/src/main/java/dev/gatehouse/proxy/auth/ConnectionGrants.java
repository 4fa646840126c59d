package dev.gatehouse.proxy.auth;

import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import java.util.concurrent.atomic.LongAdder;

/**
 * The last {@code Authorization} value one {@link JwtAuth} granted on each client connection, with what
 * it granted. A client on a keep-alive or HTTP/2 connection sends the same token with every request;
 * recognising the value by comparison spares the token's character check, its copies, its SHA-256 and the
 * cache lookup (about a microsecond for a 600-byte token).
 *
 * <p>What keeps it safe: a value is used only while the token's {@code exp} has not passed (on the filter's
 * clock) and the key set it was verified with is still the current one; it is compared in constant time; each
 * filter has its own (a grant of one filter, with its issuer and audience, never counts for another); it
 * lives on the connection and ends with it. Undertow's attachment map is not thread-safe, so it is read
 * and written only on the connection's I/O thread (where filters run unless one before them went
 * asynchronous; then the request just takes the long way).
 */
final class ConnectionGrants {

  /** One remembered grant. */
  private record Grant(String authorization, VerifiedTokenCache.Entry entry) {}

  private final AttachmentKey<Grant> key = AttachmentKey.create(Grant.class);
  private final LongAdder hits = new LongAdder();

  /**
   * What was granted for {@code authorization} on {@code exchange}'s connection, if it still holds at
   * {@code nowMillis} with {@code keys} the current key set; null otherwise.
   */
  VerifiedTokenCache.Entry find(ProxyExchange exchange, String authorization, KeySet keys, long nowMillis) {
    HttpServerExchange hse = onIoThread(exchange);
    if (hse == null) {
      return null;
    }
    Grant g = hse.getConnection().getAttachment(key);
    if (g == null || g.entry().keys != keys || nowMillis >= g.entry().expMillis
        || !sameValue(g.authorization(), authorization)) {
      return null;
    }
    hits.increment();
    return g.entry();
  }

  /** Remembers that {@code authorization} was granted {@code entry} (a token without {@code exp} is not). */
  void remember(ProxyExchange exchange, String authorization, VerifiedTokenCache.Entry entry) {
    if (authorization == null || entry.expMillis == 0) {
      return;
    }
    HttpServerExchange hse = onIoThread(exchange);
    if (hse != null) {
      hse.getConnection().putAttachment(key, new Grant(authorization, entry));
    }
  }

  /** For tests: how many requests were granted from a connection's remembered value. */
  long hits() {
    return hits.sum();
  }

  private static HttpServerExchange onIoThread(ProxyExchange exchange) {
    if (!(exchange instanceof ExchangeImpl)) {
      return null;
    }
    HttpServerExchange hse = ((ExchangeImpl) exchange).hse();
    return hse.getIoThread() == Thread.currentThread() ? hse : null;
  }

  /** Equality in time that depends on the length only, not on where the values differ. */
  static boolean sameValue(String a, String b) {
    int n = a.length();
    if (n != b.length()) {
      return false;
    }
    int diff = 0;
    for (int i = 0; i < n; i++) {
      diff |= a.charAt(i) ^ b.charAt(i);
    }
    return diff == 0;
  }
}
