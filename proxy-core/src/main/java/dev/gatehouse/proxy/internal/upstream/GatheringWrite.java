package dev.gatehouse.proxy.internal.upstream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.Function;
import org.xnio.channels.StreamSinkChannel;

/**
 * The one gathering write of the engine's writers (the request body to the upstream, an upstream or a
 * cached response body to the client): the buffers at the head of a queue leave in one system call.
 * The scratch array is per thread and cleared before returning, so no buffer stays referenced.
 */
public final class GatheringWrite {
  /** Most buffers handed to one write call. */
  static final int MAX_BUFFERS = 16;
  private static final ThreadLocal<ByteBuffer[]> SCRATCH = ThreadLocal.withInitial(() -> new ByteBuffer[MAX_BUFFERS]);

  private GatheringWrite() {}

  /**
   * Writes the data of up to {@link #MAX_BUFFERS} elements at the head of {@code queue} to {@code out}
   * in one call and returns the bytes written. The elements stay in the queue: the caller removes those
   * whose data has no bytes left (and releases what they hold). {@code data} must not allocate.
   *
   * @throws IOException if the write fails
   */
  public static <T> long write(StreamSinkChannel out, ArrayDeque<T> queue, Function<T, ByteBuffer> data)
      throws IOException {
    ByteBuffer[] gather = SCRATCH.get();
    int k = 0;
    for (T e : queue) {
      gather[k++] = data.apply(e);
      if (k == MAX_BUFFERS) {
        break;
      }
    }
    try {
      return k == 1 ? out.write(gather[0]) : out.write(gather, 0, k);
    } finally {
      Arrays.fill(gather, 0, k, null);
    }
  }

  /** The identity, for queues of buffers. */
  public static ByteBuffer self(ByteBuffer b) {
    return b;
  }
}
