package dev.gatehouse.proxy.compress;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.BodyTransformers;
import dev.gatehouse.proxy.MalformedRequestException;
import java.nio.ByteBuffer;

/**
 * A request body decompressor with a limit on the decompressed size: one per request, called on the
 * exchange's I/O thread. Going over the limit throws {@link dev.gatehouse.proxy.BodyTooLargeException}
 * (413); corrupt or truncated data throws {@link MalformedRequestException} (400).
 */
abstract class StreamDecoder implements BodyTransformer {
  private final Output out;
  private boolean closed;
  /** Set by subclasses when the compressed stream has ended properly. */
  boolean complete;

  StreamDecoder(long maxBytes) {
    this.out = new Output(maxBytes);
  }

  /** Decompresses all of {@code chunk}. */
  abstract void decompress(ByteBuffer chunk, Output out);

  /** Frees native resources; called once. */
  abstract void release();

  static MalformedRequestException malformed(String what) {
    return new MalformedRequestException("request body: " + what, null);
  }

  @Override
  public final ByteBuffer transform(ByteBuffer chunk) {
    if (closed) {
      throw new IllegalStateException("decompressor already closed");
    }
    try {
      decompress(chunk, out);
      return out.take();
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  @Override
  public final ByteBuffer finish() {
    try {
      if (!complete) {
        throw malformed("compressed data ends early");
      }
      return BodyTransformers.EMPTY;
    } finally {
      close();
    }
  }

  /** Releases the decompressor's state; safe to call more than once. */
  final void close() {
    if (!closed) {
      closed = true;
      release();
    }
  }
}
