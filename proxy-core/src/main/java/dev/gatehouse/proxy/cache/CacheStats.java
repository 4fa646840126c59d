package dev.gatehouse.proxy.cache;

/**
 * A snapshot of an {@link HttpCache}'s counters since it was created.
 *
 * @param hits requests answered from a stored response without sending them upstream: fresh, or stale
 *     where allowed ({@code max-stale}, {@code stale-while-revalidate}, the use-stale switch's {@code
 *     UPDATING})
 * @param misses requests sent upstream because nothing usable was stored (collapsed waiters are not
 *     counted: see {@code collapsedWaits})
 * @param staleHits responses served stale, whether as hits or after an upstream failure ({@code
 *     stale-if-error}, the use-stale switch)
 * @param revalidations conditional requests sent upstream to validate a stored response (in the
 *     background or for a client)
 * @param collapsedWaits requests that waited for another request's upstream fetch of the same key
 *     instead of sending their own
 * @param storedBytes bytes the store holds now
 * @param entries responses the store holds now
 * @param evictions responses the store removed to stay within its size
 */
public record CacheStats(long hits, long misses, long staleHits, long revalidations, long collapsedWaits,
    long storedBytes, long entries, long evictions) {

  /** Hits over hits plus misses; 0 before any request. */
  public double hitRatio() {
    long total = hits + misses;
    return total == 0 ? 0 : (double) hits / total;
  }
}
