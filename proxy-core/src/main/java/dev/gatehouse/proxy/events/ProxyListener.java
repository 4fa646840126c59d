package dev.gatehouse.proxy.events;

import java.net.InetSocketAddress;

/**
 * Observes exchanges, upstream attempts, tunnels and client connections as they happen. Register one
 * with {@code builder.addListener(listener)}; the access log ({@code builder.accessLog}), the metrics
 * binder ({@code builder.metrics}) and tracing ({@code builder.tracing}) are listeners of this kind.
 *
 * <p>The events of one proxied exchange, in order:
 *
 * <pre>
 *   exchangeStarted ─► routeChosen ─► upstreamAttemptStarted ─► (upstreamAttemptEnded ─► retry ...)
 *                   ─► responseCommitted ─► upstreamAttemptEnded ─► exchangeEnded
 * </pre>
 *
 * The response head is committed as soon as it arrives; the attempt that produced it ends once its
 * body has been read. A {@code CONNECT} tunnel has {@code tunnelOpened} and {@code tunnelClosed}
 * between {@code responseCommitted} and {@code exchangeEnded}; an upgraded connection (WebSocket) ends
 * its exchange when the {@code 101} has been sent, and its tunnel events follow. Every exchange that
 * starts also ends, exactly once, whatever happens in between (a request refused before the filters
 * ran has only those two events). Connections and TLS handshakes have events of their own; {@link
 * #decision} reports what a policy decided (egress, cache, rate limit, authentication, circuit
 * breaking).
 *
 * <p><b>Threading.</b> Methods are called on the proxy's I/O threads (a few on the thread that
 * changes a group's servers or closes the proxy). They must be quick and must not block: hand slow
 * work to a queue of your own, as the access log does. A listener must not change the exchange it is
 * shown. An exception thrown by a listener is logged and does not affect the exchange or the other
 * listeners.
 *
 * <p><b>Cost.</b> With no listener registered, the proxy creates no event object. Each method has an
 * empty default, so a listener pays only for what it implements.
 *
 * <pre>{@code
 * ReverseProxy.builder()
 *     .addListener(new ProxyListener() {
 *       @Override
 *       public void exchangeEnded(ExchangeInfo exchange) {
 *         if (exchange.status() >= 500) {
 *           alerts.count(exchange.route().orElse("none"));
 *         }
 *       }
 *     })
 *     ...
 * }</pre>
 */
public interface ProxyListener {

  /** A request head was received (before any validation or filter); {@code exchange.status()} is 0. */
  default void exchangeStarted(ExchangeInfo exchange) {}

  /** The reverse proxy matched a route; {@link ExchangeInfo#route()} names it. */
  default void routeChosen(ExchangeInfo exchange) {}

  /** A request is about to be sent to an upstream (a first try, or a retry). */
  default void upstreamAttemptStarted(UpstreamAttempt attempt) {}

  /**
   * An upstream attempt ended: its response was read completely, or it failed, was refused, or was
   * given up ({@link UpstreamAttempt#outcome()}).
   */
  default void upstreamAttemptEnded(UpstreamAttempt attempt) {}

  /**
   * The response head is about to be sent to the client: {@link ExchangeInfo#status()} is set and
   * {@link ExchangeInfo#error()} tells whether the error handler made it. Called a second time when a
   * response body failed in a transformer before any of it was sent, and the error handler's answer
   * replaces it.
   */
  default void responseCommitted(ExchangeInfo exchange) {}

  /**
   * The exchange is over: the response was sent, or the exchange was aborted; for a tunnel, the tunnel
   * has closed. {@link ExchangeInfo#outcome()} says how it ended.
   */
  default void exchangeEnded(ExchangeInfo exchange) {}

  /** A {@code CONNECT} tunnel or an upgraded connection (WebSocket) started carrying bytes. */
  default void tunnelOpened(ExchangeInfo exchange) {}

  /**
   * A tunnel closed; {@link ExchangeInfo#requestBodyBytes()} and {@link
   * ExchangeInfo#responseBodyBytes()} are the bytes it carried each way (for an upgraded connection,
   * the bytes counted at the exchange's end).
   */
  default void tunnelClosed(ExchangeInfo exchange) {}

  /** A client connection sent its first request (connections that never send one are not seen). */
  default void connectionOpened(ConnectionInfo connection) {}

  /** A client connection seen by {@link #connectionOpened} closed. */
  default void connectionClosed(ConnectionInfo connection) {}

  /** A TLS handshake with a client completed or failed (TLS listeners only). */
  default void tlsHandshake(TlsHandshake handshake) {}

  /**
   * A limit that protects the proxy turned a client away. {@code limit} says which: {@code connections}
   * ({@code maxClientConnections}) or {@code connections-per-ip} ({@code maxClientConnectionsPerIp}) for a
   * connection closed as soon as it was accepted, before anything was read from it; {@code exchanges}
   * ({@code maxConcurrentExchanges}) for a request answered {@code 503} (its exchange is reported as
   * usual too). Called on an I/O thread.
   *
   * @param client the client's address
   * @param limit {@code connections}, {@code connections-per-ip} or {@code exchanges}
   */
  default void limitReached(InetSocketAddress client, String limit) {}

  /**
   * A policy decided something about the exchange. {@code kind} is one of a few constants ({@link
   * Decisions#EGRESS}, {@link Decisions#CACHE}, {@link Decisions#RATE_LIMIT}, {@link Decisions#AUTH},
   * {@link Decisions#UPSTREAM}) or a filter's own; {@code outcome} is a short token such as {@code
   * allow}, {@code deny}, {@code hit} or {@code circuit-open}; {@code detail} is free text for humans
   * (for egress the rule that decided; for upstream the group), never suitable as a metric tag.
   */
  default void decision(ExchangeInfo exchange, String kind, String outcome, String detail) {}

  /**
   * A server of an upstream group changed state: health checks, outlier ejection, or removal (reverse
   * proxy only).
   */
  default void serverStateChanged(ServerStateChange change) {}
}
