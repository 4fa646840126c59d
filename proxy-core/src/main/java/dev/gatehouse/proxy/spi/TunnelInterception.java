package dev.gatehouse.proxy.spi;

/**
 * The module's decisions for an intercepted tunnel ({@link Tunnels#intercept}); called on the tunnel's
 * I/O thread, must not block.
 */
public interface TunnelInterception {

  /** What to do with the client's first bytes. */
  TunnelPlan onFirstBytes(ClientHelloInfo hello);

  /** A {@linkplain TunnelPlan#passThrough pass-through} tunnel could not connect; {@code reason} says why. */
  default void passThroughFailed(String reason) {}
}
