package dev.gatehouse.proxy.cache;

/**
 * A snapshot of an {@link HttpCache}'s counters since it was created.
 *
 * @param hits requests answered from the cache without contacting the upstream (fresh, or stale where
 *     allowed: see {@code staleHits})
 * @param misses requests the cache could not answer and sent upstream (nothing usable stored)
 * @param staleHits hits served stale: within {@code stale-while-revalidate}, {@code stale-if-error},
 *     {@code max-stale} or the cache's use-stale switch (counted in {@code hits} as well)
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
