package dev.gatehouse.proxy.internal.tls.handover;

import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.internal.tls.ObservedSslEngine;
import io.undertow.connector.ByteBufferPool;
import io.undertow.protocols.ssl.UndertowXnioSsl;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.AlpnOpenListener;
import io.undertow.server.protocol.http.HttpOpenListener;
import io.undertow.server.protocol.http2.Http2OpenListener;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.xnio.Buffers;
import org.xnio.ChannelListener;
import org.xnio.OptionMap;
import org.xnio.StreamConnection;
import org.xnio.conduits.PushBackStreamSourceConduit;
import org.xnio.ssl.SslConnection;

/**
 * Serves HTTP on a client connection that did not come through the listener: the client side of an
 * intercepted {@code CONNECT} tunnel. The proxy completes the client's TLS handshake itself, with the
 * context given (its certificate), then the connection is served exactly as the listener serves its own
 * (HTTP/1.1, or HTTP/2 when the client chooses it by ALPN): the same buffers, limits and timeouts, and
 * every request through the engine's handler, so filters, HTTP duties, graceful shutdown and the access
 * log all apply. Each request is first handed to {@code tag} (to attach what the tunnel knows, e.g. its
 * target), before the engine sees it.
 *
 * <p>Built from Undertow's own parts: {@link UndertowXnioSsl} wraps the connection in server mode, and
 * Undertow's {@link AlpnOpenListener}, {@link HttpOpenListener} and {@link Http2OpenListener} serve it.
 * The listeners are made per connection (their root handler carries the connection's tag); they are
 * small.
 */
public final class TlsHandover {

  /** Told about the client's side of the handshake; may be called on an I/O or worker thread. */
  public interface Observer {
    /** The handshake failed; {@code e}'s message says why (e.g. an alert from a client that does not trust us). */
    void handshakeFailed(SSLException e);
  }

  private TlsHandover() {}

  /**
   * Starts the TLS handshake with the client and serves HTTP on it. Must run on the connection's I/O
   * thread, with the engine started.
   *
   * @param engine the proxy whose handler, buffers and limits serve the connection
   * @param client the client connection (the tunnel's client side, reads suspended)
   * @param replay bytes already read from the client (its ClientHello), replayed to the handshake first
   * @param context the server-side TLS context: the certificate presented
   * @param http2 offer {@code h2} besides {@code http/1.1} by ALPN
   * @param tag called with each request before the engine handles it
   * @param observer told when the handshake fails
   * @return the TLS connection now serving HTTP
   */
  public static SslConnection serve(Engine engine, StreamConnection client, ByteBuffer replay, SSLContext context,
      boolean http2, Consumer<HttpServerExchange> tag, Observer observer) {
    ByteBufferPool pool = engine.bufferPool();
    OptionMap options = engine.listenerOptions();
    HttpHandler root = engine.rootHandler();
    HttpHandler tagged = exchange -> {
      tag.accept(exchange);
      root.handleRequest(exchange);
    };

    if (replay != null && replay.hasRemaining()) {
      PushBackStreamSourceConduit pushBack = new PushBackStreamSourceConduit(client.getSourceChannel().getConduit());
      pushBack.pushBack(Buffers.pooledWrapper(replay));
      client.getSourceChannel().setConduit(pushBack);
    }
    SSLContext observed = ObservedSslEngine.wrap(context, (e, failure) -> observer.handshakeFailed(failure));
    // Undertow's own TLS buffers (17 KiB): a whole TLS record must fit, and the engine's 16 KiB buffers
    // are a record's payload without its header and tag
    UndertowXnioSsl ssl = new UndertowXnioSsl(client.getWorker().getXnio(), OptionMap.EMPTY, observed);
    SslConnection connection = ssl.wrapExistingConnection(client, OptionMap.EMPTY, false);

    HttpOpenListener http1 = new HttpOpenListener(pool, options);
    http1.setRootHandler(tagged);
    ChannelListener<StreamConnection> open = http1;
    if (http2) {
      AlpnOpenListener alpn = new AlpnOpenListener(pool, options, http1);
      Http2OpenListener h2 = new Http2OpenListener(pool, options);
      h2.setRootHandler(tagged);
      alpn.addProtocol(Http2OpenListener.HTTP2, h2, 10);
      open = alpn;
    }
    open.handleEvent(connection);
    return connection;
  }
}
