/**
 * The seam between the engine and the direction modules ({@code proxy-reverse}, {@code proxy-forward}):
 * the few interfaces and value types they need and nothing else. A module gets a {@link
 * dev.gatehouse.proxy.spi.ProxyRuntime} from {@code ProxyBuilder.buildServer} and gives it a {@link
 * dev.gatehouse.proxy.spi.Terminal}, which sees each request as an {@link
 * dev.gatehouse.proxy.spi.Exchange}; through them it sends requests upstream ({@link
 * dev.gatehouse.proxy.spi.UpstreamCall}), opens tunnels ({@link dev.gatehouse.proxy.spi.Tunnels}), runs
 * health probes and hooks into the proxy's lifecycle. No Undertow or XNIO type appears here.
 *
 * <p><b>Not for users.</b> The module descriptor exports this package to the direction modules only;
 * on the class path it is visible, but it may change in any release. Applications use the public API
 * ({@code dev.gatehouse.proxy} and its feature packages).
 *
 * <p>Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.spi;

import org.jspecify.annotations.NullMarked;
