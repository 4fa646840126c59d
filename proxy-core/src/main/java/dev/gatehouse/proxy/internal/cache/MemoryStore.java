package dev.gatehouse.proxy.internal.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.cache.CacheStore;
import dev.gatehouse.proxy.cache.StoredResponse;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@link CacheStore#inMemory}: Caffeine bounded by weight (body bytes plus an estimate of the record),
 * one Caffeine entry per key holding that key's variants. Bodies are read-only direct buffers, so a hit
 * is written to the socket from them without a copy; readers get views, never copies. Lookups and reads
 * take no lock (Caffeine's reads are lock-free); writes go through {@code asMap().compute}.
 */
public final class MemoryStore implements CacheStore {
  static final String CAFFEINE = "com.github.benmanes.caffeine.cache.Caffeine";
  static final String ARTIFACT = "com.github.ben-manes.caffeine:caffeine";
  /** Most variants kept per key; the oldest goes first. */
  static final int MAX_VARIANTS = 32;
  /** Shared, already completed: the engine only reads them (a hit allocates no future for its lookup). */
  private static final CompletableFuture<List<StoredResponse>> NONE = CompletableFuture.completedFuture(List.of());

  private final long maxBytes;
  private final Cache<String, Entry> cache;
  private final ConcurrentHashMap<String, Set<String>> tags = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicLong responses = new AtomicLong();
  private final LongAdder evictions = new LongAdder();

  private MemoryStore(long maxBytes) {
    this.maxBytes = maxBytes;
    this.cache = Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .weigher((String k, Entry e) -> e.weight)
        .executor(Runnable::run) // maintenance on the caller: no threads of the common pool
        .evictionListener((String k, Entry e, com.github.benmanes.caffeine.cache.RemovalCause cause) -> {
          if (e != null && cause.wasEvicted()) {
            evictions.add(e.metas.length);
            responses.addAndGet(-e.metas.length);
            untag(k, e);
          }
        })
        .build();
  }

  /** The store, or a clear failure naming the artifact when Caffeine is missing. */
  public static CacheStore create(DataSize maxSize) {
    Objects.requireNonNull(maxSize, "maxSize");
    if (maxSize.toBytes() < 1) {
      throw new IllegalArgumentException("maxSize: " + maxSize + " (expected: > 0)");
    }
    requireCaffeine(MemoryStore.class.getClassLoader());
    return new MemoryStore(maxSize.toBytes());
  }

  static void requireCaffeine(ClassLoader loader) {
    try {
      Class.forName(CAFFEINE, false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalStateException("the in-memory cache store needs " + ARTIFACT
          + " on the class path (an optional dependency of proxy-core: add it to your build)");
    }
  }

  /** One key's variants, in the order stored (oldest first), with their bodies. */
  private static final class Entry {
    final StoredResponse[] metas;
    final ByteBuffer[] bodies;
    final CompletableFuture<List<StoredResponse>> stage;
    final int weight;

    Entry(StoredResponse[] metas, ByteBuffer[] bodies) {
      this.metas = metas;
      this.bodies = bodies;
      this.stage = CompletableFuture.completedFuture(List.of(metas));
      long w = 0;
      for (int i = 0; i < metas.length; i++) {
        w += bodies[i].capacity() + overhead(metas[i]);
      }
      this.weight = (int) Math.min(Integer.MAX_VALUE, w);
    }

    int indexOf(StoredResponse r) {
      for (int i = 0; i < metas.length; i++) {
        StoredResponse m = metas[i];
        if (m.storageId().equals(r.storageId()) && m.variant().equals(r.variant())) {
          return i;
        }
      }
      return -1;
    }
  }

  /** An estimate of a record's memory: its strings and objects. */
  static long overhead(StoredResponse r) {
    long n = 160 + 2L * (r.key().length() + r.variant().length());
    for (var h : r.headers()) {
      n += 64 + 2L * (h.getKey().length() + h.getValue().length());
    }
    for (String t : r.tags()) {
      n += 48 + 2L * t.length();
    }
    return n;
  }

  @Override
  public CompletionStage<List<StoredResponse>> lookup(String key) {
    Entry e = cache.getIfPresent(key);
    return e == null ? NONE : e.stage;
  }

  @Override
  public CompletionStage<ByteBuffer> read(StoredResponse response, long position, int maxBytes) {
    Entry e = cache.getIfPresent(response.key());
    int i = e == null ? -1 : e.indexOf(response);
    if (i < 0) {
      return CompletableFuture.failedFuture(new NoSuchElementException("no longer stored: " + response));
    }
    ByteBuffer body = e.bodies[i].duplicate();
    if (position >= body.limit()) {
      return CompletableFuture.completedFuture(body.position(body.limit()));
    }
    body.position((int) position);
    body.limit((int) Math.min(body.limit(), position + maxBytes));
    return CompletableFuture.completedFuture(body);
  }

  /** The body of a record this store returned, without a future (the cache's fast path), or null. */
  ByteBuffer body(StoredResponse response) {
    Entry e = cache.getIfPresent(response.key());
    int i = e == null ? -1 : e.indexOf(response);
    return i < 0 ? null : e.bodies[i].duplicate();
  }

  @Override
  public Writer writer(StoredResponse response) {
    return new MemoryWriter(Objects.requireNonNull(response, "response"));
  }

  private final class MemoryWriter implements Writer {
    private final StoredResponse meta;
    private ByteBuffer whole;
    private List<ByteBuffer> chunks;
    private long total;
    private boolean ended;

    MemoryWriter(StoredResponse meta) {
      this.meta = meta;
      long expected = meta.bodyLength();
      if (expected >= 0 && expected <= maxBytes && expected < Integer.MAX_VALUE) {
        whole = ByteBuffer.allocateDirect((int) expected);
      } else {
        chunks = new ArrayList<>();
      }
    }

    @Override
    public void write(ByteBuffer chunk) {
      if (ended) {
        return;
      }
      int n = chunk.remaining();
      total += n;
      if (total > maxBytes) {
        abort(); // can never fit: commit fails
        ended = true;
        return;
      }
      if (whole != null) {
        if (n > whole.remaining()) {
          // more than the declared length: the cache checks framing, so this is a misuse; refuse
          abort();
          ended = true;
          return;
        }
        whole.put(chunk.duplicate());
      } else {
        chunks.add(chunk);
      }
    }

    @Override
    public CompletionStage<StoredResponse> commit() {
      if (ended) {
        return CompletableFuture.failedFuture(new IllegalStateException("response not stored: " + meta.key()
            + " (over the store's size or declared length, or aborted)"));
      }
      ended = true;
      ByteBuffer body;
      if (whole != null) {
        if (whole.hasRemaining()) {
          return CompletableFuture.failedFuture(new IllegalStateException("response not stored: " + meta.key()
              + " (body shorter than declared)"));
        }
        body = whole.flip();
      } else {
        body = ByteBuffer.allocateDirect((int) total);
        for (ByteBuffer c : chunks) {
          body.put(c.duplicate());
        }
        body.flip();
        chunks = null;
      }
      StoredResponse stored = meta.toBuilder().bodyLength(total).storageId(Long.toString(ids.incrementAndGet())).build();
      put(stored, body.asReadOnlyBuffer());
      return CompletableFuture.completedFuture(stored);
    }

    @Override
    public void abort() {
      ended = true;
      whole = null;
      chunks = null;
    }
  }

  private void put(StoredResponse stored, ByteBuffer body) {
    long[] delta = new long[1];
    cache.asMap().compute(stored.key(), (k, old) -> {
      List<StoredResponse> metas = new ArrayList<>(old == null ? 1 : old.metas.length + 1);
      List<ByteBuffer> bodies = new ArrayList<>(metas.size());
      if (old != null) {
        for (int i = 0; i < old.metas.length; i++) {
          if (!old.metas[i].variant().equals(stored.variant())) {
            metas.add(old.metas[i]);
            bodies.add(old.bodies[i]);
          }
        }
      }
      while (metas.size() >= MAX_VARIANTS) {
        metas.remove(0);
        bodies.remove(0);
      }
      metas.add(stored);
      bodies.add(body);
      delta[0] = metas.size() - (old == null ? 0 : old.metas.length);
      return new Entry(metas.toArray(new StoredResponse[0]), bodies.toArray(new ByteBuffer[0]));
    });
    responses.addAndGet(delta[0]);
    for (String t : stored.tags()) {
      tags.computeIfAbsent(t, x -> ConcurrentHashMap.newKeySet()).add(stored.key());
    }
  }

  @Override
  public CompletionStage<Boolean> update(StoredResponse stored, StoredResponse replacement) {
    boolean[] done = new boolean[1];
    cache.asMap().computeIfPresent(stored.key(), (k, old) -> {
      int i = old.indexOf(stored);
      if (i < 0) {
        return old;
      }
      StoredResponse[] metas = old.metas.clone();
      metas[i] = replacement.toBuilder().bodyLength(stored.bodyLength()).storageId(stored.storageId()).build();
      done[0] = true;
      return new Entry(metas, old.bodies);
    });
    if (done[0]) {
      for (String t : replacement.tags()) {
        tags.computeIfAbsent(t, x -> ConcurrentHashMap.newKeySet()).add(stored.key());
      }
    }
    return CompletableFuture.completedFuture(done[0]);
  }

  @Override
  public CompletionStage<Long> remove(String key) {
    Entry e = cache.asMap().remove(key);
    if (e == null) {
      return CompletableFuture.completedFuture(0L);
    }
    responses.addAndGet(-e.metas.length);
    untag(key, e);
    return CompletableFuture.completedFuture((long) e.metas.length);
  }

  @Override
  public CompletionStage<Boolean> remove(StoredResponse response) {
    return CompletableFuture.completedFuture(removeWhere(response.key(), m ->
        m.storageId().equals(response.storageId()) && m.variant().equals(response.variant())) > 0);
  }

  /** Removes the key's variants matching {@code which}; returns how many. */
  private long removeWhere(String key, java.util.function.Predicate<StoredResponse> which) {
    long[] removed = new long[1];
    Entry[] gone = new Entry[1];
    cache.asMap().computeIfPresent(key, (k, old) -> {
      List<StoredResponse> metas = new ArrayList<>(old.metas.length);
      List<ByteBuffer> bodies = new ArrayList<>(old.metas.length);
      for (int i = 0; i < old.metas.length; i++) {
        if (which.test(old.metas[i])) {
          removed[0]++;
        } else {
          metas.add(old.metas[i]);
          bodies.add(old.bodies[i]);
        }
      }
      if (removed[0] == 0) {
        return old;
      }
      gone[0] = old;
      return metas.isEmpty() ? null : new Entry(metas.toArray(new StoredResponse[0]), bodies.toArray(new ByteBuffer[0]));
    });
    if (removed[0] > 0) {
      responses.addAndGet(-removed[0]);
      untag(key, gone[0]);
    }
    return removed[0];
  }

  @Override
  public CompletionStage<Long> removeTagged(String tag) {
    Set<String> keys = tags.get(tag);
    long n = 0;
    if (keys != null) {
      for (String key : keys.toArray(new String[0])) {
        n += removeWhere(key, m -> m.tags().contains(tag));
        keys.remove(key);
      }
    }
    return CompletableFuture.completedFuture(n);
  }

  @Override
  public CompletionStage<Long> clear() {
    long n = 0;
    for (String key : cache.asMap().keySet().toArray(new String[0])) {
      n += remove(key).toCompletableFuture().join();
    }
    return CompletableFuture.completedFuture(n);
  }

  /** Drops {@code key} from the tag index of {@code e}'s tags that the key's current entry no longer has. */
  private void untag(String key, Entry e) {
    for (StoredResponse m : e.metas) {
      for (String t : m.tags()) {
        tags.computeIfPresent(t, (x, set) -> {
          Entry now = cache.getIfPresent(key);
          boolean still = now != null && Arrays.stream(now.metas).anyMatch(r -> r.tags().contains(t));
          if (!still) {
            set.remove(key);
          }
          return set.isEmpty() ? null : set;
        });
      }
    }
  }

  @Override
  public long size() {
    cache.cleanUp();
    return cache.policy().eviction().map(ev -> ev.weightedSize().orElse(0)).orElse(0L);
  }

  @Override
  public long count() {
    return responses.get();
  }

  @Override
  public long evictions() {
    return evictions.sum();
  }

  @Override
  public void close() {
    // nothing to release: memory goes with the object
  }

  @Override
  public String toString() {
    return "MemoryStore(" + DataSize.ofBytes(maxBytes) + ")";
  }
}
