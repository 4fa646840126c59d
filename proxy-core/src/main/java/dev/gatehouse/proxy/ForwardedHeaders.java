package dev.gatehouse.proxy;

/**
 * Which headers tell the upstream who the client is.
 *
 * <p>Values a client sent are kept (and appended to) only when the connection comes from one of the
 * builder's {@code trustedProxies}; from anyone else they are replaced, so a client cannot forge its
 * address.
 */
public enum ForwardedHeaders {
  /** Send none, and remove any the client sent (also what an anonymising forward proxy wants). */
  NONE,
  /** {@code X-Forwarded-For}, {@code X-Forwarded-Proto}, {@code X-Forwarded-Host} and {@code X-Real-IP}. */
  X_FORWARDED,
  /** RFC 7239 {@code Forwarded} only. */
  FORWARDED,
  /** Both {@link #X_FORWARDED} and {@link #FORWARDED}. */
  BOTH;

  /** Whether the {@code X-Forwarded-*} family is sent. */
  public boolean xForwarded() {
    return this == X_FORWARDED || this == BOTH;
  }

  /** Whether RFC 7239 {@code Forwarded} is sent. */
  public boolean forwarded() {
    return this == FORWARDED || this == BOTH;
  }
}
