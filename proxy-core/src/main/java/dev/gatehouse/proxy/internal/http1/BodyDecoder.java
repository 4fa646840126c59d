package dev.gatehouse.proxy.internal.http1;

import java.nio.ByteBuffer;

/** Removes the framing of a response body read from an upstream connection. */
public interface BodyDecoder {

  /** The next slice of body data in {@code in} (advancing it), or null when {@code in} holds no more data. */
  ByteBuffer next(ByteBuffer in);

  /** Whether the whole body has been seen. */
  boolean isDone();

  /** Whether the body ends when the connection closes (no length, not chunked). */
  boolean endsAtClose();

  /**
   * If all of {@code in} is body data, accounts for it and returns true (the caller then uses {@code in}
   * itself, no slice); false otherwise, and nothing is consumed.
   */
  default boolean takeWhole(ByteBuffer in) {
    return false;
  }

  /** Whether {@code buffered} certainly holds the whole body (so no more upstream bytes are expected). */
  default boolean completeIn(ByteBuffer buffered) {
    return false;
  }

  /** A body of exactly {@code length} bytes. */
  static BodyDecoder fixed(long length) {
    return new BodyDecoder() {
      private long remaining = length;

      @Override
      public ByteBuffer next(ByteBuffer in) {
        if (remaining == 0 || !in.hasRemaining()) {
          return null;
        }
        int n = (int) Math.min(remaining, in.remaining());
        ByteBuffer slice = in.slice();
        slice.limit(n);
        in.position(in.position() + n);
        remaining -= n;
        return slice;
      }

      @Override
      public boolean isDone() {
        return remaining == 0;
      }

      @Override
      public boolean completeIn(ByteBuffer buffered) {
        return buffered.remaining() >= remaining;
      }

      @Override
      public boolean takeWhole(ByteBuffer in) {
        if (in.remaining() > remaining) {
          return false;
        }
        remaining -= in.remaining();
        return true;
      }

      @Override
      public boolean endsAtClose() {
        return false;
      }
    };
  }

  /** A body that lasts until the upstream closes the connection. */
  static BodyDecoder untilClose() {
    return untilEnd(-1);
  }

  /**
   * An HTTP/2 body: it ends with the stream. With a declared {@code length} (or 0 for a response
   * without a body), more bytes than declared are a framing error and fewer make the end unclean.
   */
  static BodyDecoder untilStreamEnd(long length) {
    return untilEnd(length);
  }

  /** A body that ends with its source; a {@code length} of 0 or more is checked against what arrives. */
  private static BodyDecoder untilEnd(long length) {
    return new BodyDecoder() {
      private long remaining = length;

      @Override
      public ByteBuffer next(ByteBuffer in) {
        if (!in.hasRemaining()) {
          return null;
        }
        check(in.remaining());
        ByteBuffer slice = in.slice();
        in.position(in.limit());
        return slice;
      }

      @Override
      public boolean isDone() {
        return false;
      }

      @Override
      public boolean endsAtClose() {
        return length < 0 || remaining == 0;
      }

      @Override
      public boolean takeWhole(ByteBuffer in) {
        check(in.remaining());
        return true;
      }

      private void check(int n) {
        if (length >= 0) {
          if (n > remaining) {
            throw new ChunkedDecoder.FramingException("response body longer than its Content-Length " + length);
          }
          remaining -= n;
        }
      }
    };
  }
}
