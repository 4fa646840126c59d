/**
 * Rate limiting: {@link dev.gatehouse.proxy.ratelimit.RateLimit} counts requests per {@link
 * dev.gatehouse.proxy.ratelimit.RateLimitKey} (client, consumer, route...) against {@link
 * dev.gatehouse.proxy.ratelimit.Limit}s, in memory or in a {@link
 * dev.gatehouse.proxy.ratelimit.RateLimitStore} shared by several proxies, and answers 429 with {@code
 * Retry-After} when a limit is reached.
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.ratelimit;

import org.jspecify.annotations.NullMarked;
