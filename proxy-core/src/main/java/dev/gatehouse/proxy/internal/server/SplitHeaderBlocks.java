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
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.XnioExecutor;
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

  /** {@link HeaderBlocks#state} of {@code hse}'s request stream; COMPLETE when it is not HTTP/2. */
  private static int state(HttpServerExchange hse) {
    ServerConnection c = hse.getConnection();
    if (CONNECTION_CHANNEL == null || !(c instanceof Http2ServerConnection)) {
      return HeaderBlocks.COMPLETE;
    }
    return HeaderBlocks.state((Http2Channel) CONNECTION_CHANNEL.get(c), (Http2StreamSourceChannel) REQUEST_CHANNEL.get(c));
  }

  /** True when {@code hse} is an HTTP/2 request dispatched before its header block was complete. */
  static boolean incomplete(HttpServerExchange hse) {
    return state(hse) != HeaderBlocks.COMPLETE;
  }

  /**
   * Waits for the rest of {@code hse}'s header block, then runs {@code handler} on it as Undertow would
   * have (on the I/O thread); resets the stream if the block is not complete within {@code timeoutMillis}
   * or the stream ends first. Call from the handler that found it {@link #incomplete}.
   */
  static void awaitRest(HttpServerExchange hse, long timeoutMillis, HttpHandler handler) {
    ServerConnection c = hse.getConnection();
    boolean endStream = state(hse) == HeaderBlocks.PENDING_END_STREAM;
    if (endStream) {
      // the flag Undertow lost: the frame that ends the block now ends the stream too
      HeaderBlocks.restoreEndStream((Http2StreamSourceChannel) REQUEST_CHANNEL.get(c));
    }
    ConduitStreamSourceChannel source = (ConduitStreamSourceChannel) SOURCE.get(c);
    Http2Channel channel = (Http2Channel) CONNECTION_CHANNEL.get(c);
    Object parser = HeaderBlocks.pendingParser(channel, (Http2StreamSourceChannel) REQUEST_CHANNEL.get(c));
    hse.dispatch(SameThreadExecutor.INSTANCE, () -> {
      Waiter w = new Waiter(hse, source, endStream, handler, channel, parser);
      w.timer = hse.getIoThread().executeAfter(w::expire, Math.max(1, timeoutMillis), TimeUnit.MILLISECONDS);
      source.getReadSetter().set(ch -> w.check());
      source.resumeReads();
      w.poll();
      HeaderBlocks.waiting();
    });
  }

  /** One request waiting for the rest of its block; used on its I/O thread only. */
  private static final class Waiter {
    final HttpServerExchange hse;
    final ConduitStreamSourceChannel source;
    final boolean endStream;
    final HttpHandler handler;
    final Http2Channel channel;
    final Object parser;
    XnioExecutor.Key timer;
    boolean done;

    Waiter(HttpServerExchange hse, ConduitStreamSourceChannel source, boolean endStream, HttpHandler handler,
        Http2Channel channel, Object parser) {
      this.hse = hse;
      this.source = source;
      this.endStream = endStream;
      this.handler = handler;
      this.channel = channel;
      this.parser = parser;
    }

    /**
     * Checks again every {@link HeaderBlocks#POLL_MILLIS} ms as well: the frame that completes a block does
     * not always raise a read event (a bodiless stream whose earlier CONTINUATION frame came in a read of
     * its own closes quietly when the last one arrives).
     */
    void poll() {
      check();
      if (!done) {
        hse.getIoThread().executeAfter(this::poll, HeaderBlocks.POLL_MILLIS, TimeUnit.MILLISECONDS);
      }
    }

    /** A read event on the stream: the block's last frame (and with it the stream's end), data, or a reset. */
    void check() {
      if (done) {
        return;
      }
      if (parser != null && HeaderBlocks.stillPending(channel, parser)) {
        if (!source.isOpen()) {
          giveUp("the stream closed before its header block was complete");
        }
        return;
      }
      done = true;
      timer.remove();
      source.suspendReads();
      source.getReadSetter().set(null);
      if (endStream) {
        Connectors.terminateRequest(hse); // no body: the request is complete, as a whole block would be
      }
      Connectors.executeRootHandler(handler, hse);
    }

    void expire() {
      if (!done) {
        giveUp("its header block was not complete within the request-header timeout");
      }
    }

    private void giveUp(String why) {
      done = true;
      timer.remove();
      log.debug("HTTP/2 stream reset: {}", why);
      IoUtils.safeClose(hse.getConnection()); // resets this stream only
      hse.endExchange();
    }
  }
}
