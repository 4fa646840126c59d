package dev.gatehouse.proxy;

import java.nio.ByteBuffer;

/**
 * Changes a body as it streams, one chunk at a time.
 *
 * <p><b>Threading.</b> Called on the exchange's I/O thread, in order, never concurrently; it must not
 * block. <b>Chunks are borrowed:</b> a transformer must not keep a reference to {@code chunk} after
 * returning (copy what it needs), and never has to release anything.
 *
 * <p><b>Errors.</b> A {@link RuntimeException} aborts the exchange: before the response has started
 * the client gets the {@link ErrorHandler}'s answer (a {@link BodyTooLargeException} gives 413 for a
 * request body and 502 for a response body); after, the client connection is closed so that a
 * truncated body can never look complete.
 */
public interface BodyTransformer {

  /** Returns the bytes to emit for {@code chunk}; may be {@code chunk} itself, a new buffer, or empty. */
  ByteBuffer transform(ByteBuffer chunk);

  /** Called once after the last chunk; returns any trailing bytes (empty by default). */
  default ByteBuffer finish() {
    return BodyTransformers.EMPTY;
  }
}
