package dev.gatehouse.proxy.cache;

/**
 * When the cache may answer with a stale stored response rather than pass on an upstream failure, as
 * nginx's {@code proxy_cache_use_stale}: see {@link HttpCache.Builder#useStale}. These apply on top of
 * the origin's own {@code stale-if-error} and {@code stale-while-revalidate}; a response marked {@code
 * must-revalidate}, {@code proxy-revalidate}, {@code s-maxage} or {@code no-cache} is never served stale.
 */
public enum UseStale {
  /** The upstream could not be reached, reset the connection or sent a malformed response. */
  ERROR,
  /** The upstream did not answer within the proxy's timeouts. */
  TIMEOUT,
  /** The upstream answered 500. */
  HTTP_500,
  /** The upstream answered 502. */
  HTTP_502,
  /** The upstream answered 503. */
  HTTP_503,
  /** The upstream answered 504. */
  HTTP_504,
  /**
   * Another request is already fetching or revalidating the response: serve the stale one meanwhile
   * (as if the origin had sent {@code stale-while-revalidate}), and revalidate it in the background.
   */
  UPDATING
}
