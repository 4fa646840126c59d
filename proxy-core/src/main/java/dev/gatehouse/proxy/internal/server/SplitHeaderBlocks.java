package dev.gatehouse.proxy.internal.server;

import io.undertow.server.Connectors;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ServerConnection;
import io.undertow.server.protocol.http2.Http2ServerConnection;
import io.undertow.util.SameThreadExecutor;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
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
 * <p>Undertow's fields are private: they are reached once, reflectively, for Undertow 2.4's layout; if
 * that fails (another Undertow), requests keep Undertow's behaviour, and the test that sends a split
 * block fails, so an upgrade cannot lose this silently.
 */
final class SplitHeaderBlocks {
  private static final Logger log = LoggerFactory.getLogger(SplitHeaderBlocks.class);

  private static final VarHandle CONNECTION_CHANNEL; // Http2ServerConnection.channel: Http2Channel
  private static final VarHandle REQUEST_CHANNEL; // Http2ServerConnection.requestChannel: Http2StreamSourceChannel
  private static final VarHandle SOURCE; // Http2ServerConnection.conduitStreamSourceChannel
  private static final VarHandle CONTINUATION; // Http2Channel.continuationParser: Http2HeadersParser
  private static final VarHandle PARSER_END_STREAM; // Http2HeadersParser.headersEndStream
  private static final VarHandle STREAM_END_STREAM; // Http2StreamSourceChannel.headersEndStream
  private static final MethodHandle PARSER_STREAM_ID; // Http2HeaderBlockParser.getStreamId()
  private static final MethodHandle STREAM_ID; // Http2StreamSourceChannel.getStreamId()

  static {
    VarHandle channel = null;
    VarHandle request = null;
    VarHandle source = null;
    VarHandle continuation = null;
    VarHandle parserEnd = null;
    VarHandle streamEnd = null;
    MethodHandle parserId = null;
    MethodHandle streamId = null;
    try {
      ClassLoader cl = Http2ServerConnection.class.getClassLoader();
      Class<?> h2Channel = Class.forName("io.undertow.protocols.http2.Http2Channel", false, cl);
      Class<?> headersParser = Class.forName("io.undertow.protocols.http2.Http2HeadersParser", false, cl);
      Class<?> blockParser = Class.forName("io.undertow.protocols.http2.Http2HeaderBlockParser", false, cl);
      Class<?> stream = Class.forName("io.undertow.protocols.http2.Http2StreamSourceChannel", false, cl);
      MethodHandles.Lookup conn = MethodHandles.privateLookupIn(Http2ServerConnection.class, MethodHandles.lookup());
      channel = conn.findVarHandle(Http2ServerConnection.class, "channel", h2Channel);
      request = conn.findVarHandle(Http2ServerConnection.class, "requestChannel", stream);
      source = conn.findVarHandle(Http2ServerConnection.class, "conduitStreamSourceChannel", ConduitStreamSourceChannel.class);
      continuation = MethodHandles.privateLookupIn(h2Channel, MethodHandles.lookup())
          .findVarHandle(h2Channel, "continuationParser", headersParser);
      parserEnd = MethodHandles.privateLookupIn(headersParser, MethodHandles.lookup())
          .findVarHandle(headersParser, "headersEndStream", boolean.class);
      MethodHandles.Lookup s = MethodHandles.privateLookupIn(stream, MethodHandles.lookup());
      streamEnd = s.findVarHandle(stream, "headersEndStream", boolean.class);
      streamId = s.findVirtual(stream, "getStreamId", MethodType.methodType(int.class));
      parserId = MethodHandles.privateLookupIn(blockParser, MethodHandles.lookup())
          .findVirtual(blockParser, "getStreamId", MethodType.methodType(int.class));
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      log.debug("HTTP/2 header blocks split across reads keep Undertow's handling: {}", e.toString());
      channel = null;
    }
    CONNECTION_CHANNEL = channel;
    REQUEST_CHANNEL = request;
    SOURCE = source;
    CONTINUATION = continuation;
    PARSER_END_STREAM = parserEnd;
    STREAM_END_STREAM = streamEnd;
    PARSER_STREAM_ID = parserId;
    STREAM_ID = streamId;
  }

  /** Run when a request starts waiting for the rest of its block (tests: to send it only then). */
  static volatile Runnable waitingHook;

  private SplitHeaderBlocks() {}

  /** True when this Undertow's HTTP/2 internals can be handled (tests check it). */
  static boolean available() {
    return CONNECTION_CHANNEL != null;
  }

  /** The header parser still waiting for CONTINUATION frames of {@code hse}'s stream, or null. */
  private static Object pendingParser(HttpServerExchange hse) {
    ServerConnection c = hse.getConnection();
    if (CONNECTION_CHANNEL == null || !(c instanceof Http2ServerConnection)) {
      return null;
    }
    try {
      Object parser = CONTINUATION.get(CONNECTION_CHANNEL.get(c));
      Object stream = REQUEST_CHANNEL.get(c);
      if (parser == null || stream == null) {
        return null;
      }
      return (int) PARSER_STREAM_ID.invoke(parser) == (int) STREAM_ID.invoke(stream) ? parser : null;
    } catch (Throwable e) {
      return null;
    }
  }

  /** True when {@code hse} is an HTTP/2 request dispatched before its header block was complete. */
  static boolean incomplete(HttpServerExchange hse) {
    return pendingParser(hse) != null;
  }

  /**
   * Waits for the rest of {@code hse}'s header block, then runs {@code handler} on it as Undertow would
   * have (on the I/O thread); resets the stream if the block is not complete within {@code timeoutMillis}
   * or the stream ends first. Call from the handler that found it {@link #incomplete}.
   */
  static void awaitRest(HttpServerExchange hse, long timeoutMillis, HttpHandler handler) {
    Object parser = pendingParser(hse);
    ServerConnection c = hse.getConnection();
    boolean endStream = (boolean) PARSER_END_STREAM.get(parser);
    if (endStream) {
      // the flag Undertow lost: the frame that ends the block now ends the stream too
      STREAM_END_STREAM.set(REQUEST_CHANNEL.get(c), true);
    }
    ConduitStreamSourceChannel source = (ConduitStreamSourceChannel) SOURCE.get(c);
    hse.dispatch(SameThreadExecutor.INSTANCE, () -> {
      Waiter w = new Waiter(hse, source, endStream, handler);
      w.timer = hse.getIoThread().executeAfter(w::expire, Math.max(1, timeoutMillis), TimeUnit.MILLISECONDS);
      source.getReadSetter().set(ch -> w.check());
      source.resumeReads();
      Runnable hook = waitingHook;
      if (hook != null) {
        hook.run();
      }
    });
  }

  /** One request waiting for the rest of its header block; used on its I/O thread only. */
  private static final class Waiter {
    final HttpServerExchange hse;
    final ConduitStreamSourceChannel source;
    final boolean endStream;
    final HttpHandler handler;
    XnioExecutor.Key timer;
    boolean done;

    Waiter(HttpServerExchange hse, ConduitStreamSourceChannel source, boolean endStream, HttpHandler handler) {
      this.hse = hse;
      this.source = source;
      this.endStream = endStream;
      this.handler = handler;
    }

    /** A read event on the stream: the block's last frame (and with it the stream's end), data, or a reset. */
    void check() {
      if (done) {
        return;
      }
      if (pendingParser(hse) != null) {
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
