package dev.gatehouse.proxy.internal.upstream;

import java.nio.ByteBuffer;

/**
 * A response body the proxy produces itself, chunk by chunk, possibly asynchronously: a cache hit read
 * from a store, or a response followed while another exchange is still receiving it. A {@link
 * SourceStreamer} pulls it on the exchange's I/O thread and writes it to the client with
 * back-pressure: the next chunk is asked for only once the client has taken the previous ones.
 */
public interface BodySource {

  /** Returned by {@link #next} at the end of the body. */
  ByteBuffer END = ByteBuffer.allocate(0).asReadOnlyBuffer();

  /** The body's length in bytes, or -1 when unknown (then it is sent chunked). */
  long length();

  /**
   * The next chunk, or {@link #END}, or null when none is ready yet: then {@code wakeup} is run once,
   * from any thread, when one is (or the source ended or failed). Called on the I/O thread. The
   * returned buffer is the caller's: it may move its position, and the source must not change it.
   *
   * @throws RuntimeException if the body cannot be produced (the client connection is then cut, so a
   *     truncated body never looks complete)
   */
  ByteBuffer next(Runnable wakeup);

  /** Called once when the streamer no longer needs the source (done, failed, or the client left). */
  void close();
}
