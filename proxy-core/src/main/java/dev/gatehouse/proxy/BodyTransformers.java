package dev.gatehouse.proxy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/** Ready-made {@link BodyTransformer}s. */
public final class BodyTransformers {

  /** An empty, read-only buffer. */
  public static final ByteBuffer EMPTY = ByteBuffer.allocate(0).asReadOnlyBuffer();

  private BodyTransformers() {}

  /**
   * Collects the whole body, up to {@code maxBytes}, and replaces it with {@code fn}'s result. This is
   * the only way to see a whole body; a body over the limit fails the exchange with {@link
   * BodyTooLargeException} (413 for a request, 502 for a response).
   *
   * @throws IllegalArgumentException if {@code maxBytes} is negative or above {@code Integer.MAX_VALUE - 8}
   */
  public static BodyTransformer aggregate(long maxBytes, Function<byte[], byte[]> fn) {
    if (maxBytes < 0 || maxBytes > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: 0-" + (Integer.MAX_VALUE - 8) + ")");
    }
    Objects.requireNonNull(fn, "fn");
    return new Aggregator((int) maxBytes, fn);
  }

  /**
   * Applies {@code fn} to each chunk as it passes. {@code fn} gets a read-only view it must not keep and
   * returns the bytes to emit.
   */
  public static BodyTransformer mapChunks(UnaryOperator<ByteBuffer> fn) {
    Objects.requireNonNull(fn, "fn");
    return chunk -> {
      ByteBuffer out = fn.apply(chunk.asReadOnlyBuffer());
      return out == null ? EMPTY : out;
    };
  }

  private static final class Aggregator implements BodyTransformer {
    private final int maxBytes;
    private final Function<byte[], byte[]> fn;
    private byte[] data = new byte[0];
    private int size;

    Aggregator(int maxBytes, Function<byte[], byte[]> fn) {
      this.maxBytes = maxBytes;
      this.fn = fn;
    }

    @Override
    public ByteBuffer transform(ByteBuffer chunk) {
      int n = chunk.remaining();
      if ((long) size + n > maxBytes) {
        data = null;
        throw new BodyTooLargeException(maxBytes);
      }
      if (size + n > data.length) {
        data = Arrays.copyOf(data, Math.min(maxBytes, Math.max(size + n, Math.max(1024, data.length * 2))));
      }
      chunk.get(data, size, n);
      size += n;
      return EMPTY;
    }

    @Override
    public ByteBuffer finish() {
      byte[] whole = size == data.length ? data : Arrays.copyOf(data, size);
      data = null;
      byte[] out = fn.apply(whole);
      return out == null ? EMPTY : ByteBuffer.wrap(out);
    }
  }
}
