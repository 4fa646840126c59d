package dev.gatehouse.proxy.internal.exchange;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A bounded copy of the request body read so far, so that a retry can send it again. Once the body
 * grows past the limit the copy is dropped and the request can no longer be retried.
 */
public final class ReplayBuffer {
  private final long limit;
  private List<byte[]> chunks = new ArrayList<>();
  private long size;
  private boolean overflowed;

  ReplayBuffer(long limit) {
    this.limit = limit;
  }

  /** Copies the readable bytes of {@code b} (its position is left as it was). */
  public void append(ByteBuffer b) {
    if (overflowed) {
      return;
    }
    int n = b.remaining();
    if (size + n > limit) {
      overflow();
      return;
    }
    byte[] copy = new byte[n];
    b.duplicate().get(copy);
    chunks.add(copy);
    size += n;
  }

  void overflow() {
    overflowed = true;
    chunks = null;
    size = 0;
  }

  public boolean overflowed() {
    return overflowed;
  }

  public long size() {
    return size;
  }

  /** Fresh read-only views of the bytes held. */
  public List<ByteBuffer> chunks() {
    List<ByteBuffer> out = new ArrayList<>(chunks.size());
    for (byte[] c : chunks) {
      out.add(ByteBuffer.wrap(c).asReadOnlyBuffer());
    }
    return out;
  }
}
