/**
 * Gateway filters that decide who may pass: {@link dev.gatehouse.proxy.access.IpAccess} (client
 * address allow and deny lists), {@link dev.gatehouse.proxy.access.RequestLimits} (methods, sizes) and
 * {@link dev.gatehouse.proxy.access.Cors} (cross-origin requests and preflights).
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.access;

import org.jspecify.annotations.NullMarked;
