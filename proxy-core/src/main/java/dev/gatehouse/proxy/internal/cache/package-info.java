/**
 * The HTTP cache (RFC 9111) behind {@code dev.gatehouse.proxy.cache}: {@link
 * dev.gatehouse.proxy.internal.cache.CacheEngine} (lookup, storage, revalidation, collapsed fills),
 * the cache-control and freshness rules, variants, the memory and file stores.
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.cache;
