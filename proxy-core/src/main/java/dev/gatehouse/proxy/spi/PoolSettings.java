package dev.gatehouse.proxy.spi;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Limits and TLS of the connection pool to one upstream address. Requests with equal settings to the
 * same endpoint share a pool; a group with its own limits gets a pool of its own.
 *
 * @param maxConnections most connections open at once
 * @param maxIdle most idle keep-alive connections kept
 * @param maxPending most requests queued while all connections are busy
 * @param keepAlive how long an idle connection is kept
 * @param tls TLS towards an https endpoint, or null for {@link ClientTls#defaults()}
 * @param http2 speak HTTP/2 to the endpoint: offered by ALPN over TLS (HTTP/1.1 if the upstream declines),
 *     with prior knowledge (h2c) over cleartext
 */
public record PoolSettings(int maxConnections, int maxIdle, int maxPending, Duration keepAlive,
    @Nullable ClientTls tls, boolean http2) {

  /** HTTP/1.1 settings. */
  public PoolSettings(int maxConnections, int maxIdle, int maxPending, Duration keepAlive, @Nullable ClientTls tls) {
    this(maxConnections, maxIdle, maxPending, keepAlive, tls, false);
  }

  /** The same limits with {@code tls} towards the upstream and {@code http2} as given. */
  public PoolSettings with(@Nullable ClientTls tls, boolean http2) {
    return new PoolSettings(maxConnections, maxIdle, maxPending, keepAlive, tls, http2);
  }
}
