package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.spi.PoolSettings;

/**
 * A group's connection settings per server, as given to its builder; unset limits (0 or -1) take the
 * proxy's.
 *
 * @param maxConnections most connections per server, 0 for the proxy's
 * @param maxIdle most idle connections per server, -1 for the proxy's
 * @param maxPending most queued requests per server, -1 for the proxy's
 * @param tls TLS towards https servers, or null for the defaults
 * @param http2 whether the group speaks HTTP/2 to its servers
 */
record PoolLimits(int maxConnections, int maxIdle, int maxPending, UpstreamTls tls, boolean http2) {

  /** The settings of the group's pools on top of the proxy's {@code defaults}. */
  PoolSettings settings(PoolSettings defaults) {
    int maxConn = maxConnections > 0 ? maxConnections : defaults.maxConnections();
    int idle = maxIdle >= 0 ? maxIdle : Math.min(defaults.maxIdle(), maxConn);
    int pending = maxPending >= 0 ? maxPending : defaults.maxPending();
    return new PoolSettings(maxConn, idle, pending, defaults.keepAlive(),
        tls == null ? null : tls.clientTls(), http2);
  }
}
