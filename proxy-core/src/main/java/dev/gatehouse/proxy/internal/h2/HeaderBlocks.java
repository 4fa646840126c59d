package dev.gatehouse.proxy.internal.h2;

import io.undertow.protocols.http2.Http2Channel;
import io.undertow.protocols.http2.Http2StreamSourceChannel;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.XnioExecutor;

/**
 * Whether an HTTP/2 stream's header block is complete, in either direction. Undertow 2.4 hands a stream
 * on (a request to the server's handler, a response to the client's listener) as soon as its HEADERS
 * frame is read, even when the block goes on in CONTINUATION frames that arrive in a later read; it
 * then has only part of the fields, and it loses the HEADERS frame's END_STREAM, so a stream without a
 * body never ends. A whole block in one read, the usual case, is handed on complete. The callers
 * ({@code SplitHeaderBlocks} for requests, {@link Http2ExchangeCodec} for responses) wait for the rest
 * of the block with {@link #await}, the END_STREAM given back ({@link #keepEndStream}); the fields
 * Undertow decodes from the later frames land in the same header map.
 *
 * <p>Undertow's fields are private: they are reached once, reflectively, for Undertow 2.4's layout; if
 * that fails (another Undertow), {@link #pendingParser} says "complete" and streams keep Undertow's behaviour,
 * and the tests that split a block fail.
 */
public final class HeaderBlocks {
  private static final Logger log = LoggerFactory.getLogger(HeaderBlocks.class);

  /** The longest a waiter goes without looking again (it starts at 1 ms and doubles). */
  private static final long MAX_POLL_MILLIS = 64;

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

  /** True when this Undertow's HTTP/2 internals can be looked into (tests check it). */
  public static boolean available() {
    return CONTINUATION != null;
  }

  /**
   * The header parser of {@code stream}'s unfinished block, or null when its block is complete (or this
   * Undertow cannot be looked into): what {@link #await} follows to the block's end.
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
   * Gives {@code stream} back the END_STREAM its HEADERS frame carried, if it did, so that the frame
   * completing the block ({@code parser}'s) ends the stream, as it does when the whole block comes in one
   * read. True when the HEADERS frame ended the stream (no body follows).
   */
  public static boolean keepEndStream(Object parser, Http2StreamSourceChannel stream) {
    boolean ended = (boolean) PARSER_END_STREAM.get(parser);
    if (ended) {
      STREAM_END_STREAM.set(stream, true);
    }
    return ended;
  }

  /**
   * Follows {@code parser}'s block to its end on {@code thread} (the stream's I/O thread), looking again
   * after 1 ms, then at doubling intervals up to {@value #MAX_POLL_MILLIS} ms. Complete: {@code complete}
   * runs. Still pending when {@code gone} says the stream is of no more interest, or {@code timeoutMillis}
   * (if above 0) have passed: {@code abandoned} runs with the reason. Call on {@code thread}.
   *
   * <p>It polls rather than listening to the stream's read events: Undertow re-invokes a stream's read
   * listener in a loop for as long as it holds unread frame data, so a listener that must not read (the
   * request is not to be handled yet) kept the I/O thread spinning, and the frames that would complete the
   * block were never read (one run in about 150 of a test, a hang). The rest of a split block follows
   * within a round trip, so the first looks find it; a peer that never sends it costs a look every
   * {@value #MAX_POLL_MILLIS} ms until the timeout, and only one block per connection can be pending.
   */
  public static void await(Http2Channel channel, Object parser, XnioExecutor thread, long timeoutMillis,
      BooleanSupplier gone, Runnable complete, Consumer<String> abandoned) {
    Waiter w = new Waiter(channel, parser, thread, gone, complete, abandoned);
    if (timeoutMillis > 0) {
      w.timer = thread.executeAfter(w::expire, timeoutMillis, TimeUnit.MILLISECONDS);
    }
    Runnable hook = waitingHook;
    if (hook != null) {
      hook.run();
    }
    w.poll();
  }

  /**
   * Whether the block {@code parser} decodes is still unfinished: it waits for a CONTINUATION frame, or a
   * CONTINUATION frame for it is being read (its header is in, its fields not all: Undertow forgets the
   * pending block as soon as it has read the header of the frame that ends it).
   */
  private static boolean stillPending(Http2Channel channel, Object parser) {
    if (CONTINUATION.get(channel) == parser) {
      return true;
    }
    Object frame = FRAME_PARSER.get(channel);
    return frame != null && (FRAME_CONTINUATION.get(frame) == parser || FRAME_BODY_PARSER.get(frame) == parser);
  }

  /** One stream waiting for the rest of its block; used on its I/O thread only. */
  private static final class Waiter {
    final Http2Channel channel;
    final Object parser;
    final XnioExecutor thread;
    final BooleanSupplier gone;
    final Runnable complete;
    final Consumer<String> abandoned;
    XnioExecutor.Key timer;
    long nextPollMillis = 1;
    boolean done;

    Waiter(Http2Channel channel, Object parser, XnioExecutor thread, BooleanSupplier gone, Runnable complete,
        Consumer<String> abandoned) {
      this.channel = channel;
      this.parser = parser;
      this.thread = thread;
      this.gone = gone;
      this.complete = complete;
      this.abandoned = abandoned;
    }

    void poll() {
      if (done) {
        return;
      }
      if (!stillPending(channel, parser)) {
        end();
        complete.run();
      } else if (gone.getAsBoolean()) {
        end();
        abandoned.accept("the stream ended before its header block was complete");
      } else {
        thread.executeAfter(this::poll, nextPollMillis, TimeUnit.MILLISECONDS);
        nextPollMillis = Math.min(MAX_POLL_MILLIS, nextPollMillis * 2);
      }
    }

    void expire() {
      if (!done) {
        end();
        abandoned.accept("its header block was not complete in time");
      }
    }

    private void end() {
      done = true;
      if (timer != null) {
        timer.remove();
      }
    }
  }
}
