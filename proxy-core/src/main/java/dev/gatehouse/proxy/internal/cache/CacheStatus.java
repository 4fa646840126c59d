package dev.gatehouse.proxy.internal.cache;

/**
 * One {@code Cache-Status} entry (RFC 9211), e.g. {@code gatehouse; hit; ttl=42} or {@code gatehouse;
 * fwd=uri-miss; fwd-status=200; stored}.
 */
final class CacheStatus {
  private final StringBuilder sb;

  private CacheStatus(String name) {
    sb = new StringBuilder(48).append(name);
  }

  static CacheStatus of(String name) {
    return new CacheStatus(name);
  }

  CacheStatus hit() {
    sb.append("; hit");
    return this;
  }

  /** {@code fwd}: uri-miss, vary-miss, miss, request, stale, bypass, partial. */
  CacheStatus fwd(String why) {
    sb.append("; fwd=").append(why);
    return this;
  }

  CacheStatus fwdStatus(int status) {
    sb.append("; fwd-status=").append(status);
    return this;
  }

  CacheStatus ttl(long seconds) {
    sb.append("; ttl=").append(seconds);
    return this;
  }

  CacheStatus stored() {
    sb.append("; stored");
    return this;
  }

  CacheStatus collapsed() {
    sb.append("; collapsed");
    return this;
  }

  /** {@code detail}, an sf-token such as {@code stale-while-revalidate}. */
  CacheStatus detail(String token) {
    sb.append("; detail=").append(token);
    return this;
  }

  @Override
  public String toString() {
    return sb.toString();
  }
}
