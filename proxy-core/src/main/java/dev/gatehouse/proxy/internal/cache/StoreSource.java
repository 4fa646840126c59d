package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.cache.CacheStore;
import dev.gatehouse.proxy.cache.StoredResponse;
import dev.gatehouse.proxy.internal.upstream.BodySource;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** A stored body (or a range of it) read from the store chunk by chunk, one read ahead at most. */
final class StoreSource implements BodySource {
  static final int CHUNK = 256 * 1024;

  private final CacheStore store;
  private final StoredResponse meta;
  private final long length;
  private final long end;
  private long pos;
  private ByteBuffer first;
  private CompletableFuture<ByteBuffer> pending;
  private boolean listening;

  /** Bytes {@code from} to {@code end} (exclusive) of {@code meta}'s body; {@code first} was read already. */
  StoreSource(CacheStore store, StoredResponse meta, long from, long end, ByteBuffer first) {
    this.store = store;
    this.meta = meta;
    this.pos = from;
    this.end = end;
    this.length = end - from;
    this.first = first;
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public ByteBuffer next(Runnable wakeup) {
    if (first != null) {
      ByteBuffer b = bounded(first);
      first = null;
      return b;
    }
    if (pos >= end) {
      return END;
    }
    if (pending == null) {
      pending = store.read(meta, pos, (int) Math.min(CHUNK, end - pos)).toCompletableFuture();
      listening = false;
    }
    if (!pending.isDone()) {
      if (!listening) {
        listening = true;
        pending.whenComplete((b, e) -> wakeup.run());
      }
      return null;
    }
    CompletableFuture<ByteBuffer> p = pending;
    pending = null;
    ByteBuffer b;
    try {
      b = p.join();
    } catch (CompletionException e) {
      throw new IllegalStateException("stored body unreadable: " + (e.getCause() != null ? e.getCause() : e), e);
    }
    return bounded(b);
  }

  private ByteBuffer bounded(ByteBuffer b) {
    if (!b.hasRemaining()) {
      throw new IllegalStateException("stored body shorter than recorded: " + meta);
    }
    if (b.remaining() > end - pos) {
      b.limit(b.position() + (int) (end - pos));
    }
    pos += b.remaining();
    return b;
  }

  @Override
  public void close() {
    first = null;
    pending = null;
  }
}
