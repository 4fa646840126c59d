package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.ErrorHandler;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ForwardedHeaders;
import dev.gatehouse.proxy.internal.tls.ServerTlsContexts;
import dev.gatehouse.proxy.spi.CidrSet;
import dev.gatehouse.proxy.spi.PoolSettings;
import java.time.Duration;
import java.util.List;

/**
 * The immutable snapshot of the shared builder settings.
 *
 * @param clock the builder's clock; {@link #nanoTime()} reads it as a monotonic nanosecond count
 */
public record CoreConfig(
    String kind,
    String host,
    int port,
    int ioThreads,
    int workerThreads,
    List<Filter> filters,
    Duration connectTimeout,
    Duration readTimeout,
    Duration requestHeaderTimeout,
    Duration idleTimeout,
    Duration shutdownGracePeriod,
    Duration slowFilterThreshold,
    int maxRequestLineLength,
    int maxHeaderBytes,
    int maxHeaderCount,
    long maxRequestBodySize,
    ErrorHandler errorHandler,
    ForwardedHeaders forwardedHeaders,
    CidrSet trustedProxies,
    String via,
    int upstreamMaxConnections,
    int upstreamMaxIdleConnections,
    Duration upstreamKeepAliveTimeout,
    int upstreamMaxPending,
    int responseBufferSize,
    long responseBufferMemoryLimit,
    ServerTlsContexts tls,
    java.time.Duration tlsReloadInterval,
    boolean http2,
    java.time.InstantSource clock) {

  /** The pool limits of calls that bring none of their own (HTTP/1.1, default TLS). */
  public PoolSettings defaultPoolSettings() {
    return new PoolSettings(upstreamMaxConnections, upstreamMaxIdleConnections, upstreamMaxPending,
        upstreamKeepAliveTimeout, null);
  }

  /**
   * Now in nanoseconds, for comparing against deadlines: {@link System#nanoTime()} with the system clock,
   * the clock's instant otherwise (a test clock moves only when the test moves it).
   */
  public long nanoTime() {
    if (clock == java.time.InstantSource.system()) {
      return System.nanoTime();
    }
    java.time.Instant i = clock.instant();
    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
  }
}
