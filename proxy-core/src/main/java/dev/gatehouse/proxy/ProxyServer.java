package dev.gatehouse.proxy;

import java.net.InetSocketAddress;

/**
 * A built proxy. {@link #start()} binds and starts serving; {@link #close()} stops gracefully.
 *
 * <pre>{@code
 * try (ProxyServer proxy = ReverseProxy.builder()...build().start()) {
 *   System.out.println("listening on " + proxy.address());
 * }
 * }</pre>
 */
public interface ProxyServer extends AutoCloseable {

  /**
   * Binds the listener and starts serving; returns {@code this}.
   *
   * @throws ProxyStartException if the address cannot be bound
   * @throws IllegalStateException if already started or closed
   */
  ProxyServer start();

  /** The bound port (useful when configured with port 0). @throws IllegalStateException if not started */
  int port();

  /** The bound address. @throws IllegalStateException if not started */
  InetSocketAddress address();

  /** Whether the proxy has been started and not yet closed. */
  boolean isRunning();

  /**
   * A snapshot of the proxy's state: readiness, uptime, exchanges and connections in flight, routes,
   * upstream groups with the health of each server, connection pools. The admin listener's {@code
   * /status} shows the same as JSON. Never blocks; may be called in any state.
   */
  ProxyStatus status();

  /**
   * The admin listener's bound address (useful with {@code adminPort(0)}); empty when the proxy has
   * none or is not running.
   */
  java.util.Optional<InetSocketAddress> adminAddress();

  /**
   * Stops accepting connections, lets in-flight exchanges finish within the builder's {@code
   * shutdownGracePeriod}, then closes every connection and stops every thread the proxy started.
   * Idempotent.
   */
  @Override
  void close();
}
