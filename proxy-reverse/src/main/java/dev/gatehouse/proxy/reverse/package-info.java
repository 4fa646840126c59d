/**
 * The reverse proxy: {@link dev.gatehouse.proxy.reverse.ReverseProxy#builder()} with {@link
 * dev.gatehouse.proxy.reverse.Route}s that match requests and send them to an {@link
 * dev.gatehouse.proxy.reverse.UpstreamGroup} (load balancing, active health checks, outlier detection,
 * retries by {@link dev.gatehouse.proxy.reverse.RetryPolicy}, HTTP/2 and TLS to the servers). The routes
 * of a running proxy can be replaced as a whole ({@link
 * dev.gatehouse.proxy.reverse.ReverseProxyServer#routes(java.util.List)}).
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.reverse;

import org.jspecify.annotations.NullMarked;
