package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.BodyTransformer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** Runs a list of {@link BodyTransformer}s in order over a stream of chunks. */
public final class Transformers {
  private Transformers() {}

  /** Passes {@code chunk} through every transformer; non-empty results go to {@code out}. */
  public static void apply(List<BodyTransformer> list, ByteBuffer chunk, Consumer<ByteBuffer> out) {
    applyFrom(list, 0, chunk, out);
  }

  private static void applyFrom(List<BodyTransformer> list, int from, ByteBuffer chunk, Consumer<ByteBuffer> out) {
    ByteBuffer b = chunk;
    for (int i = from; i < list.size(); i++) {
      if (!b.hasRemaining()) {
        return;
      }
      b = list.get(i).transform(b);
      if (b == null) {
        return;
      }
    }
    if (b.hasRemaining()) {
      out.accept(b);
    }
  }

  /** What the transformers make at the end of the stream, in order (see {@link #finish}). */
  public static List<ByteBuffer> finishAll(List<BodyTransformer> list) {
    List<ByteBuffer> tail = new ArrayList<>(1);
    finish(list, tail::add);
    return tail;
  }

  /** The bytes left in {@code buffers}, together. */
  public static long remaining(List<ByteBuffer> buffers) {
    long n = 0;
    for (ByteBuffer b : buffers) {
      n += b.remaining();
    }
    return n;
  }

  /** Ends the stream: each transformer's trailing bytes pass through the transformers after it. */
  public static void finish(List<BodyTransformer> list, Consumer<ByteBuffer> out) {
    for (int i = 0; i < list.size(); i++) {
      ByteBuffer tail = list.get(i).finish();
      if (tail != null && tail.hasRemaining()) {
        applyFrom(list, i + 1, tail, out);
      }
    }
  }
}
