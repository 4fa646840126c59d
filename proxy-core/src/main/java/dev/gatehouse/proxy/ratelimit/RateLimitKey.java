package dev.gatehouse.proxy.ratelimit;

import dev.gatehouse.proxy.ProxyAttributes;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.auth.Principal;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a request is counted under: a client, a consumer, a route... A {@code null} key means the
 * request is not limited by this filter (for example {@link #principal()} for an anonymous request).
 * Called on the I/O thread; must be quick and must not block.
 *
 * <pre>{@code
 * RateLimitKey perPlan = ex -> Principal.of(ex).flatMap(p -> p.claim("plan")).map(Object::toString).orElse("anonymous");
 * }</pre>
 *
 * <p>Keys longer than 128 characters are replaced by their SHA-256, so a client cannot make the table
 * hold large keys.
 */
@FunctionalInterface
public interface RateLimitKey {

  /** The key of {@code exchange}, or {@code null} to leave it unlimited. */
  @Nullable String keyFor(ProxyExchange exchange);

  /** The real client address ({@link ProxyExchange#realClientIp()}, trusted proxies applied). */
  static RateLimitKey clientIp() {
    return ProxyExchange::realClientIp;
  }

  /** The authenticated {@link Principal}'s scheme and name; unauthenticated requests are not limited. */
  static RateLimitKey principal() {
    return ex -> Principal.of(ex).map(p -> p.scheme() + ":" + p.name()).orElse(null);
  }

  /** The principal when there is one, else the client address. */
  static RateLimitKey principalOrClientIp() {
    return ex -> Principal.of(ex).map(p -> p.scheme() + ":" + p.name()).orElseGet(() -> "ip:" + ex.realClientIp());
  }

  /** The first value of request header {@code name}; requests without it are not limited. */
  static RateLimitKey header(String name) {
    Objects.requireNonNull(name, "name");
    return ex -> ex.request().headers().get(name).orElse(null);
  }

  /**
   * The route the request matched ({@link ProxyAttributes#ROUTE}): one budget per route, shared by all
   * clients. Use on a route (the route is known once routing ran); elsewhere requests are not limited.
   */
  static RateLimitKey route() {
    return ex -> ex.attribute(ProxyAttributes.ROUTE).orElse(null);
  }

  /** A key made of this one and {@code other} (e.g. per route and per client); null if either is. */
  default RateLimitKey and(RateLimitKey other) {
    Objects.requireNonNull(other, "other");
    return ex -> {
      String a = keyFor(ex);
      if (a == null) {
        return null;
      }
      String b = other.keyFor(ex);
      return b == null ? null : a + "|" + b;
    };
  }
}
