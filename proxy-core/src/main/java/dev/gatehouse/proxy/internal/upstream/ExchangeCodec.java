package dev.gatehouse.proxy.internal.upstream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * The wire protocol of one {@link UpstreamCall}: how it gets a transport, how the request head and
 * body are framed, where the response is read from and what becomes of the transport at the end. The
 * call keeps the exchange's state and endings; a codec only moves bytes, and reports to its call.
 * Implemented for HTTP/1.1 on a pooled connection ({@code http1.Http1ExchangeCodec}) and for a stream
 * of a multiplexed HTTP/2 connection ({@code h2.Http2ExchangeCodec}); a new upstream protocol is a new
 * implementation. Everything runs on the call's I/O thread.
 *
 * <p>The sequence: {@link #start()} gets the transport and then calls {@link UpstreamCall#sendRequest()};
 * the request goes out through {@link #sendHeadOnly()} or, with a body, a {@link BodyPump} writing to
 * {@link #requestSink()} with this codec's framing; the codec reads the response head and hands it to
 * {@link UpstreamCall#headArrived}; a {@link ResponseStreamer} reads the body from {@link
 * #responseSource()}; {@link #responseComplete} or {@link #cancel()} ends the transport's part.
 */
public interface ExchangeCodec {

  /** Gets a transport (a pooled connection, a stream) for the call; then the call is told to send. */
  void start();

  // ---------------------------------------------------------------- request

  /**
   * Queues the request head declaring {@code contentLength} ({@code -1}: chunked, {@code -2}: no framing
   * field) with {@code Expect} forwarded when {@code keepExpect}, and returns true; returns false when
   * the protocol sent the head when the stream opened (HTTP/2), so nothing is queued.
   */
  boolean queueHead(ArrayDeque<ByteBuffer> out, long contentLength, boolean keepExpect);

  /** Queues {@code data} as one chunk of a body whose head {@linkplain #queueHead declared} chunked. */
  void queueChunk(ArrayDeque<ByteBuffer> out, ByteBuffer data);

  /** Queues the end of a chunked body. */
  void queueLastChunk(ArrayDeque<ByteBuffer> out);

  /** The queued head was written, or the request is given up: a buffer held for the head can go. */
  void releaseHead();

  /**
   * Sends a request that has no body: the head alone (HTTP/1.1), or nothing more (HTTP/2, where the
   * head opened the stream and ended it). Reports {@link UpstreamCall#onRequestSent()} once it is out.
   */
  void sendHeadOnly();

  /** Whether the codec itself waits for the upstream to take the head of a request without a body. */
  boolean headBlocked();

  /** Where the request body is written. */
  StreamSinkChannel requestSink();

  /** Whether what is written to the sink waits in it until flushed (HTTP/2 frames it). */
  boolean flushesWrites();

  /** Whether the end of the body is the end of the stream (HTTP/2 END_STREAM) rather than framing. */
  boolean endsBodyWithStream();

  /** Writing the request failed; the codec decides what that means (read the answer, retry, fail). */
  void writeFailed(IOException e);

  // ---------------------------------------------------------------- response

  /** The channel the response body is read from (set once the head has arrived). */
  StreamSourceChannel responseSource();

  /** Whether the body arrives in frames of a multiplexed connection (HTTP/2), one per read event. */
  boolean framedSource();

  /** Whether the transport is still attached (not closed or given back). */
  boolean hasSource();

  /** Whether the end of the body source is a proper end (not an HTTP/2 stream reset). */
  boolean cleanEnd();

  /** The transport must not carry another request (an HTTP/1.1 connection; an HTTP/2 stream never does). */
  void dontReuse();

  /**
   * The response was read completely: the transport goes back (the connection to its pool, the stream
   * ends). With {@code requestUnfinished} the upstream answered before the whole request was sent, and
   * the rest of it is abandoned.
   */
  void responseComplete(boolean requestUnfinished);

  /** Gives up: the connection closes, or the stream is reset. Idempotent. */
  void cancel();
}
