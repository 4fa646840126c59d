/**
 * An RFC 9111 shared HTTP cache for either proxy: {@link dev.gatehouse.proxy.cache.HttpCache} with a
 * memory or file {@link dev.gatehouse.proxy.cache.CacheStore}, set on the builder ({@code
 * builder.cache(...)}) or per route. Concurrent misses are collapsed, stale responses may be served
 * while they are revalidated, and responses can be purged by key or tag.
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.cache;

import org.jspecify.annotations.NullMarked;
