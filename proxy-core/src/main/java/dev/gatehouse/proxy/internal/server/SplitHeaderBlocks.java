package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.internal.h2.HeaderBlocks;
import io.undertow.protocols.http2.Http2Channel;
import io.undertow.protocols.http2.Http2StreamSourceChannel;
import io.undertow.server.Connectors;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ServerConnection;
import io.undertow.server.protocol.http2.Http2ServerConnection;
import io.undertow.util.SameThreadExecutor;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * An HTTP/2 request whose header block goes on in CONTINUATION frames that arrive in a later read than
 * its HEADERS frame. Undertow 2.4 dispatches such a request after the HEADERS frame alone, its fields
 * incomplete, and loses that frame's END_STREAM, so a bodiless request never ends: the proxy forwarded
 * it with a body that never came, and the client waited for ever (about one run in fifty of a test that
 * sends the two frames in two writes; always when they are apart). Whole blocks in one read, the usual
 * case, are not affected.
 *
 * <p>{@link Intake} hands such a request here before it looks at anything: the stream is told that its
 * HEADERS frame ended it (the flag Undertow lost, so the frame that completes the block ends the stream
 * as it should), and the request waits, with no filter run and nothing forwarded, until its block is
 * complete; then it is handled from the start, all its fields decoded and validated. A block that is not
 * complete within the request-header timeout resets the stream.
 *
 * <p>Undertow's fields are private: they are reached once, reflectively, for Undertow 2.4's layout (here
 * the connection's, in {@link HeaderBlocks} the parser's); if that fails (another Undertow), requests keep
 * Undertow's behaviour, and the tests that send a split block fail, so an upgrade cannot lose this silently.
 */
final class SplitHeaderBlocks {
  private static final Logger log = LoggerFactory.getLogger(SplitHeaderBlocks.class);

  private static final VarHandle CONNECTION_CHANNEL; // Http2ServerConnection.channel
  private static final VarHandle REQUEST_CHANNEL; // Http2ServerConnection.requestChannel
  private static final VarHandle SOURCE; // Http2ServerConnection.conduitStreamSourceChannel

  static {
    VarHandle channel = null;
    VarHandle request = null;
    VarHandle source = null;
    try {
      MethodHandles.Lookup conn = MethodHandles.privateLookupIn(Http2ServerConnection.class, MethodHandles.lookup());
      channel = conn.findVarHandle(Http2ServerConnection.class, "channel", Http2Channel.class);
      request = conn.findVarHandle(Http2ServerConnection.class, "requestChannel", Http2StreamSourceChannel.class);
      source = conn.findVarHandle(Http2ServerConnection.class, "conduitStreamSourceChannel", ConduitStreamSourceChannel.class);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      log.debug("HTTP/2 request header blocks split across reads keep Undertow's handling: {}", e.toString());
      channel = null;
    }
    CONNECTION_CHANNEL = HeaderBlocks.available() ? channel : null;
    REQUEST_CHANNEL = request;
    SOURCE = source;
  }

  private SplitHeaderBlocks() {}

  /** True when this Undertow's HTTP/2 internals can be handled (tests check it). */
  static boolean available() {
    return CONNECTION_CHANNEL != null;
  }

  /** The header parser of {@code hse}'s unfinished block, or null (its block is complete, or it is not HTTP/2). */
  private static Object pendingParser(HttpServerExchange hse) {
    ServerConnection c = hse.getConnection();
    if (CONNECTION_CHANNEL == null || !(c instanceof Http2ServerConnection)) {
      return null;
    }
    return HeaderBlocks.pendingParser((Http2Channel) CONNECTION_CHANNEL.get(c), (Http2StreamSourceChannel) REQUEST_CHANNEL.get(c));
  }

  /**
   * When {@code hse} is an HTTP/2 request dispatched before its header block was complete: waits for the
   * rest of the block, then runs {@code handler} on it as Undertow would have (on the I/O thread), or
   * resets the stream if the block is not complete within {@code timeoutMillis} or the stream ends first,
   * and returns true (the caller does nothing more with it now). False for any other request.
   */
  static boolean deferIfIncomplete(HttpServerExchange hse, long timeoutMillis, HttpHandler handler) {
    Object parser = pendingParser(hse);
    if (parser == null) {
      return false;
    }
    ServerConnection c = hse.getConnection();
    // the flag Undertow lost: the frame that ends the block now ends the stream too
    boolean endStream = HeaderBlocks.keepEndStream(parser, (Http2StreamSourceChannel) REQUEST_CHANNEL.get(c));
    ConduitStreamSourceChannel source = (ConduitStreamSourceChannel) SOURCE.get(c);
    hse.dispatch(SameThreadExecutor.INSTANCE, () -> HeaderBlocks.await((Http2Channel) CONNECTION_CHANNEL.get(c), parser,
        source.getIoThread(), Math.max(1, timeoutMillis), () -> !source.isOpen(), () -> {
          if (endStream) {
            Connectors.terminateRequest(hse); // no body: the request is complete, as a whole block would be
          }
          Connectors.executeRootHandler(handler, hse);
        }, why -> {
          log.debug("HTTP/2 stream reset: {}", why);
          IoUtils.safeClose(c); // resets this stream only
          hse.endExchange();
        }));
    return true;
  }
}
