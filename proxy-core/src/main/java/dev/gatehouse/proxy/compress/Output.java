package dev.gatehouse.proxy.compress;

import dev.gatehouse.proxy.BodyTooLargeException;
import dev.gatehouse.proxy.BodyTransformers;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Collects what a codec produces for one chunk, and hands it over as one buffer. With a limit, the
 * total over the whole body may not pass it: the bytes over it are never stored.
 */
final class Output {
  private final long limit;
  private long total;
  private byte[] buf;
  private int len;
  private int sizeHint = 1024;

  Output(long limit) {
    this.limit = limit;
  }

  void write(byte[] src, int off, int n) {
    if (n == 0) {
      return;
    }
    if (limit >= 0 && total + n > limit) {
      buf = null;
      len = 0;
      throw new BodyTooLargeException(limit);
    }
    total += n;
    if (buf == null) {
      buf = new byte[Math.max(sizeHint, n)];
    } else if (len + n > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(len + n, buf.length * 2));
    }
    System.arraycopy(src, off, buf, len, n);
    len += n;
  }

  void write(ByteBuffer src) {
    int n = src.remaining();
    if (n == 0) {
      return;
    }
    if (src.hasArray()) {
      write(src.array(), src.arrayOffset() + src.position(), n);
      src.position(src.limit());
      return;
    }
    if (limit >= 0 && total + n > limit) {
      buf = null;
      len = 0;
      throw new BodyTooLargeException(limit);
    }
    total += n;
    if (buf == null) {
      buf = new byte[Math.max(sizeHint, n)];
    } else if (len + n > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(len + n, buf.length * 2));
    }
    src.get(buf, len, n);
    len += n;
  }

  /** What was written since the last call, as a buffer the caller now owns; empty if nothing. */
  ByteBuffer take() {
    if (len == 0) {
      return BodyTransformers.EMPTY;
    }
    ByteBuffer b = ByteBuffer.wrap(buf, 0, len);
    sizeHint = Math.min(64 * 1024, Math.max(1024, len));
    buf = null;
    len = 0;
    return b;
  }

  long total() {
    return total;
  }
}
