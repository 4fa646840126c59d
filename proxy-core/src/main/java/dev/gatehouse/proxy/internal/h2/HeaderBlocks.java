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
  /**
   * How often a waiter looks again, besides its stream's read events: the frame that completes a block
   * does not always raise one. Waiting is rare (a block split across reads) and bounded by a timeout.
   */
  public static final long POLL_MILLIS = 5;

  private static final VarHandle CONTINUATION; // Http2Channel.continuationParser: Http2HeadersParser
  private static final VarHandle FRAME_PARSER; // Http2Channel.frameParser: the frame being read, or null
  private static final VarHandle FRAME_CONTINUATION; // Http2FrameHeaderParser.continuationParser
  private static final VarHandle FRAME_BODY_PARSER; // Http2FrameHeaderParser.parser: what reads the frame's payload
  private static final VarHandle PARSER_END_STREAM; // Http2HeadersParser.headersEndStream
  private static final MethodHandle PARSER_STREAM_ID; // Http2HeaderBlockParser.getStreamId()
  private static final VarHandle STREAM_END_STREAM; // Http2StreamSourceChannel.headersEndStream

  static {
    VarHandle continuation = null;
    VarHandle frameParser = null;
    VarHandle frameContinuation = null;
    VarHandle frameBodyParser = null;
    VarHandle parserEnd = null;
    MethodHandle parserId = null;
    VarHandle streamEnd = null;
    try {
      ClassLoader cl = Http2Channel.class.getClassLoader();
      Class<?> headersParser = Class.forName("io.undertow.protocols.http2.Http2HeadersParser", false, cl);
      Class<?> blockParser = Class.forName("io.undertow.protocols.http2.Http2HeaderBlockParser", false, cl);
      Class<?> frameHeaderParser = Class.forName("io.undertow.protocols.http2.Http2FrameHeaderParser", false, cl);
      MethodHandles.Lookup ch = MethodHandles.privateLookupIn(Http2Channel.class, MethodHandles.lookup());
      continuation = ch.findVarHandle(Http2Channel.class, "continuationParser", headersParser);
      frameParser = ch.findVarHandle(Http2Channel.class, "frameParser", frameHeaderParser);
      MethodHandles.Lookup fp = MethodHandles.privateLookupIn(frameHeaderParser, MethodHandles.lookup());
      frameContinuation = fp.findVarHandle(frameHeaderParser, "continuationParser", headersParser);
      frameBodyParser = fp.findVarHandle(frameHeaderParser, "parser",
          Class.forName("io.undertow.protocols.http2.Http2PushBackParser", false, cl));
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
    FRAME_PARSER = frameParser;
    FRAME_CONTINUATION = frameContinuation;
    FRAME_BODY_PARSER = frameBodyParser;
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
    Object parser = pendingParser(channel, stream);
    if (parser == null) {
      return COMPLETE;
    }
    return (boolean) PARSER_END_STREAM.get(parser) ? PENDING_END_STREAM : PENDING;
  }

  /**
   * The header parser of {@code stream}'s unfinished block, or null when its block is complete; pass it
   * to {@link #stillPending} to follow that block to its end.
   */
  public static Object pendingParser(Http2Channel channel, Http2StreamSourceChannel stream) {
    if (CONTINUATION == null || channel == null || stream == null) {
      return null;
    }
    try {
      // between frames the pending block's parser is the channel's; once the next frame's header is read,
      // the frame parser's
      Object parser = CONTINUATION.get(channel);
      if (parser == null) {
        Object frame = FRAME_PARSER.get(channel);
        parser = frame == null ? null : FRAME_CONTINUATION.get(frame);
      }
      return parser != null && (int) PARSER_STREAM_ID.invoke(parser) == stream.getStreamId() ? parser : null;
    } catch (Throwable e) {
      return null;
    }
  }

  /**
   * Whether the block {@code parser} decodes is still unfinished: it waits for a CONTINUATION frame, or a
   * CONTINUATION frame for it is being read (its header is in, its fields not all: Undertow forgets the
   * pending block as soon as it has read the header of the frame that ends it).
   */
  public static boolean stillPending(Http2Channel channel, Object parser) {
    if (CONTINUATION.get(channel) == parser) {
      return true;
    }
    Object frame = FRAME_PARSER.get(channel);
    return frame != null && (FRAME_CONTINUATION.get(frame) == parser || FRAME_BODY_PARSER.get(frame) == parser);
  }

  /**
   * Gives {@code stream} back the END_STREAM its HEADERS frame carried, so that the frame completing the
   * block ends the stream, as it does when the whole block comes in one read.
   */
  public static void restoreEndStream(Http2StreamSourceChannel stream) {
    STREAM_END_STREAM.set(stream, true);
  }
}
