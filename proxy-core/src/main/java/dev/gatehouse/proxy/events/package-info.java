/**
 * The proxy's life-cycle events, for access logs, metrics, tracing and audit: implement {@link
 * dev.gatehouse.proxy.events.ProxyListener} and register it with {@code builder.addListener(...)}.
 *
 * <p>Every method of a listener has an empty default, so a listener implements only what it needs.
 * When no listener is registered the proxy does no work for events at all.
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.events;

import org.jspecify.annotations.NullMarked;
