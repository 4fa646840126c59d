package dev.gatehouse.proxy.compress;

import dev.gatehouse.proxy.BodyTransformer;
import java.nio.ByteBuffer;

/**
 * A response body compressor: one per response, called on the exchange's I/O thread. Native state is
 * released by {@link #finish()}, or by {@link #close()} when the exchange ends without reaching it.
 */
abstract class StreamEncoder implements BodyTransformer {
  private final boolean flushEachChunk;
  private final Output out = new Output(-1);
  private boolean closed;

  StreamEncoder(boolean flushEachChunk) {
    this.flushEachChunk = flushEachChunk;
  }

  /** Compresses {@code chunk} whole; with {@code flush}, everything so far becomes decodable output. */
  abstract void compress(ByteBuffer chunk, boolean flush, Output out);

  /** Ends the stream. */
  abstract void end(Output out);

  /** Frees native resources; called once. */
  abstract void release();

  @Override
  public final ByteBuffer transform(ByteBuffer chunk) {
    if (closed) {
      throw new IllegalStateException("compressor already closed");
    }
    compress(chunk, flushEachChunk, out);
    return out.take();
  }

  @Override
  public final ByteBuffer finish() {
    if (closed) {
      throw new IllegalStateException("compressor already closed");
    }
    try {
      end(out);
      return out.take();
    } finally {
      close();
    }
  }

  /** Releases the compressor's state; safe to call more than once. */
  final void close() {
    if (!closed) {
      closed = true;
      release();
    }
  }
}
