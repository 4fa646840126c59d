package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.ProxyResponse;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * {@code CONNECT} tunnels, run by the engine for the forward proxy, which decides where they go. A
 * tunnel pipes bytes both ways with back-pressure until both sides are done, or until {@code
 * idleTimeout} passes without a byte either way; the exchange's access-log line is written when it
 * ends, with the bytes it carried. Open tunnels are closed (and logged) when the proxy closes.
 */
public interface Tunnels {

  /**
   * Connects to {@code destination} within the {@code connectTimeout}, answers the {@code CONNECT}
   * with 200 and pipes; a destination that cannot be reached fails the stage (502, or 504 for the
   * timeout).
   */
  CompletionStage<ProxyResponse> open(Exchange exchange, InetSocketAddress destination, Duration idleTimeout);

  /**
   * Tunnels through a parent proxy: connects to {@code parent}, sends it {@code CONNECT target} (with
   * {@code proxyAuthorization} when not null), and on its 2xx answers 200 and pipes. A parent that
   * refuses is relayed (its status), its 407 becomes 502 (the proxy's own credentials were refused).
   */
  CompletionStage<ProxyResponse> openThroughParent(Exchange exchange, Endpoint parent, String target,
      @Nullable String proxyAuthorization, Duration idleTimeout);

  /**
   * Answers the {@code CONNECT} with 200 at once, reads the client's first bytes, and does what {@code
   * interception} decides for them: serve the client's TLS with a certificate of the module's (the
   * decrypted requests then go through the proxy's chain, each carrying the connection attribute of
   * the plan), pass the bytes through to a destination, or close.
   *
   * @param idleTimeout for a tunnel that passes the bytes through
   */
  CompletionStage<ProxyResponse> intercept(Exchange exchange, TunnelInterception interception, Duration idleTimeout);
}
