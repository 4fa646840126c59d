package dev.gatehouse.proxy.internal.h2;

import io.undertow.protocols.http2.Http2Channel;
import io.undertow.protocols.http2.Http2StreamSourceChannel;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether an HTTP/2 stream's header block is complete, in either direction. Undertow 2.4 hands a stream
 * on (a request to the server's handler, a response to the client's listener) as soon as its HEADERS
 * frame is read, even when the block goes on in CONTINUATION frames that arrive in a later read; it
 * then has only part of the fields, and it loses the HEADERS frame's END_STREAM, so a stream without a
 * body never ends. A whole block in one read, the usual case, is handed on complete. The callers
 * ({@code SplitHeaderBlocks} for requests, {@link Http2ExchangeCodec} for responses) wait for the rest
 * of the block with {@link #restoreEndStream} applied; the fields Undertow decodes from the later frames
 * land in the same header map.
 *
 * <p>Undertow's fields are private: they are reached once, reflectively, for Undertow 2.4's layout; if
 * that fails (another Undertow), {@link #state} says "complete" and streams keep Undertow's behaviour,
 * and the tests that split a block fail.
 */
public final class HeaderBlocks {
  private static final Logger log = LoggerFactory.getLogger(HeaderBlocks.class);

  /** The block is complete (or this Undertow cannot be looked into). */
  public static final int COMPLETE = 0;
  /** CONTINUATION frames are still to come; the HEADERS frame did not end the stream. */
  public static final int PENDING = 1;
  /** CONTINUATION frames are still to come; the HEADERS frame ended the stream (no body). */
  public static final int PENDING_END_STREAM = 2;

  private static final VarHandle CONTINUATION; // Http2Channel.continuationParser: Http2HeadersParser
  private static final VarHandle PARSER_END_STREAM; // Http2HeadersParser.headersEndStream
  private static final MethodHandle PARSER_STREAM_ID; // Http2HeaderBlockParser.getStreamId()
  private static final VarHandle STREAM_END_STREAM; // Http2StreamSourceChannel.headersEndStream

  static {
    VarHandle continuation = null;
    VarHandle parserEnd = null;
    MethodHandle parserId = null;
    VarHandle streamEnd = null;
    try {
      ClassLoader cl = Http2Channel.class.getClassLoader();
      Class<?> headersParser = Class.forName("io.undertow.protocols.http2.Http2HeadersParser", false, cl);
      Class<?> blockParser = Class.forName("io.undertow.protocols.http2.Http2HeaderBlockParser", false, cl);
      continuation = MethodHandles.privateLookupIn(Http2Channel.class, MethodHandles.lookup())
          .findVarHandle(Http2Channel.class, "continuationParser", headersParser);
      parserEnd = MethodHandles.privateLookupIn(headersParser, MethodHandles.lookup())
          .findVarHandle(headersParser, "headersEndStream", boolean.class);
      parserId = MethodHandles.privateLookupIn(blockParser, MethodHandles.lookup())
          .findVirtual(blockParser, "getStreamId", MethodType.methodType(int.class));
      streamEnd = MethodHandles.privateLookupIn(Http2StreamSourceChannel.class, MethodHandles.lookup())
          .findVarHandle(Http2StreamSourceChannel.class, "headersEndStream", boolean.class);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      log.debug("HTTP/2 header blocks split across reads keep Undertow's handling: {}", e.toString());
      continuation = null;
    }
    CONTINUATION = continuation;
    PARSER_END_STREAM = parserEnd;
    PARSER_STREAM_ID = parserId;
    STREAM_END_STREAM = streamEnd;
  }

  /**
   * Run each time a stream starts waiting for the rest of its block. Tests set it, to send the rest of a
   * block only once the proxy has read its first frame on its own; null otherwise.
   */
  public static volatile Runnable waitingHook;

  private HeaderBlocks() {}

  /** Called by the waiters when they start waiting. */
  public static void waiting() {
    Runnable hook = waitingHook;
    if (hook != null) {
      hook.run();
    }
  }

  /** True when this Undertow's HTTP/2 internals can be looked into (tests check it). */
  public static boolean available() {
    return CONTINUATION != null;
  }

  /** {@link #COMPLETE}, {@link #PENDING} or {@link #PENDING_END_STREAM} for {@code stream} of {@code channel}. */
  public static int state(Http2Channel channel, Http2StreamSourceChannel stream) {
    if (CONTINUATION == null || channel == null || stream == null) {
      return COMPLETE;
    }
    try {
      Object parser = CONTINUATION.get(channel);
      if (parser == null || (int) PARSER_STREAM_ID.invoke(parser) != stream.getStreamId()) {
        return COMPLETE;
      }
      return (boolean) PARSER_END_STREAM.get(parser) ? PENDING_END_STREAM : PENDING;
    } catch (Throwable e) {
      return COMPLETE;
    }
  }

  /**
   * Gives {@code stream} back the END_STREAM its HEADERS frame carried, so that the frame completing the
   * block ends the stream, as it does when the whole block comes in one read.
   */
  public static void restoreEndStream(Http2StreamSourceChannel stream) {
    STREAM_END_STREAM.set(stream, true);
  }
}
