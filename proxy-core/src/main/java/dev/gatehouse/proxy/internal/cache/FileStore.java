package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.cache.CacheStore;
import dev.gatehouse.proxy.cache.StoredResponse;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link CacheStore#files}: each response is two files in a two-level directory, {@code id.body} and
 * {@code id.meta} (the record, with a CRC). A response is written under {@code tmp/}, flushed to disk,
 * and moved into place body first, record last: the record's presence is the commit, so a crash leaves
 * either a whole response or files that the next start deletes. The index of records is kept in memory
 * (lookups do no I/O); bodies are read from disk on the store's threads. When over its size, the store
 * deletes the least recently used responses until it is under 90% of it.
 *
 * <p>Why one class of this size: the on-disk format, the crash-safe commit order, the in-memory index and the
 * eviction must agree with each other, so their invariants are kept where they can be read together.
 */
public final class FileStore implements CacheStore {
  private static final Logger log = LoggerFactory.getLogger(FileStore.class);
  private static final int FORMAT = 1;
  private static final String BODY = ".body";
  private static final String META = ".meta";
  /** Body bytes a writer may have queued for the disk; beyond it the response is given up. */
  static final long MAX_QUEUED = 16L * 1024 * 1024;
  private static final CompletionStage<List<StoredResponse>> NONE = CompletableFuture.completedStage(List.of());

  private final Path dir;
  private final Path tmp;
  private final long maxBytes;
  private final ThreadPoolExecutor io;
  private final ConcurrentHashMap<String, Entry[]> index = new ConcurrentHashMap<>();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong responses = new AtomicLong();
  private final LongAdder evictions = new LongAdder();
  private final AtomicLong useClock = new AtomicLong();
  private final AtomicLong generation = new AtomicLong(System.currentTimeMillis() * 1000);
  private final AtomicInteger evicting = new AtomicInteger();
  private volatile boolean closed;

  /** One stored response: its record, its files' size and when it was last used. */
  private static final class Entry {
    final StoredResponse meta;
    final long size;
    volatile long lastUsed;

    Entry(StoredResponse meta, long size, long lastUsed) {
      this.meta = meta;
      this.size = size;
      this.lastUsed = lastUsed;
    }
  }

  private FileStore(Path dir, long maxBytes) {
    this.dir = dir;
    this.tmp = dir.resolve("tmp");
    this.maxBytes = maxBytes;
    AtomicInteger n = new AtomicInteger();
    this.io = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
      Thread t = new Thread(r, "gatehouse-cache-files-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.io.allowCoreThreadTimeOut(true);
  }

  /** Opens (or creates) the store in {@code directory} and indexes what a previous run left there. */
  public static CacheStore open(Path directory, DataSize maxSize) {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(maxSize, "maxSize");
    if (maxSize.toBytes() < 1) {
      throw new IllegalArgumentException("maxSize: " + maxSize + " (expected: > 0)");
    }
    FileStore s = new FileStore(directory.toAbsolutePath(), maxSize.toBytes());
    try {
      Files.createDirectories(s.tmp);
      s.load();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the cache directory " + directory + ": " + e.getMessage(), e);
    }
    s.evictIfNeeded();
    return s;
  }

  // ---------------------------------------------------------------- start: index what is there

  private void load() throws IOException {
    try (DirectoryStream<Path> stale = Files.newDirectoryStream(tmp)) {
      for (Path p : stale) {
        Files.deleteIfExists(p); // half-written by a previous run
      }
    }
    int loaded = 0;
    int dropped = 0;
    try (DirectoryStream<Path> shards = Files.newDirectoryStream(dir, p -> Files.isDirectory(p) && !p.equals(tmp))) {
      for (Path shard : shards) {
        Map<String, Path> bodies = new HashMap<>();
        List<Path> metas = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(shard)) {
          for (Path f : files) {
            String name = f.getFileName().toString();
            if (name.endsWith(BODY)) {
              bodies.put(name.substring(0, name.length() - BODY.length()), f);
            } else if (name.endsWith(META)) {
              metas.add(f);
            } else {
              Files.deleteIfExists(f);
            }
          }
        }
        for (Path m : metas) {
          String id = m.getFileName().toString();
          id = id.substring(0, id.length() - META.length());
          Path body = bodies.remove(id);
          StoredResponse meta = body == null ? null : readMeta(m, id);
          if (meta == null || Files.size(body) != meta.bodyLength()) {
            log.warn("cache file {} is incomplete or damaged; deleted", m);
            Files.deleteIfExists(m);
            if (body != null) {
              Files.deleteIfExists(body);
            }
            dropped++;
            continue;
          }
          if (index(meta, Files.size(body) + Files.size(m))) {
            loaded++;
          }
        }
        for (Path orphan : bodies.values()) {
          Files.deleteIfExists(orphan); // a body whose record never made it: not committed
          dropped++;
        }
      }
    }
    if (loaded > 0 || dropped > 0) {
      log.info("cache directory {}: {} responses ({}), {} incomplete files deleted", dir, loaded,
          DataSize.ofBytes(bytes.get()), dropped);
    }
  }

  /** Indexes a response found at start; of two for one key and variant, the newer one stays. */
  private boolean index(StoredResponse meta, long size) {
    boolean[] added = new boolean[1];
    StoredResponse[] dropped = new StoredResponse[1];
    index.compute(meta.key(), (k, old) -> {
      List<Entry> list = old == null ? new ArrayList<>() : new ArrayList<>(Arrays.asList(old));
      for (int i = 0; i < list.size(); i++) {
        Entry e = list.get(i);
        if (e.meta.variant().equals(meta.variant())) {
          if (!meta.responseTime().isAfter(e.meta.responseTime())) {
            dropped[0] = meta;
            return old;
          }
          dropped[0] = e.meta;
          bytes.addAndGet(-e.size);
          responses.decrementAndGet();
          list.remove(i);
          break;
        }
      }
      list.add(new Entry(meta, size, 0));
      bytes.addAndGet(size);
      responses.incrementAndGet();
      added[0] = true;
      return list.toArray(new Entry[0]);
    });
    if (dropped[0] != null) {
      deleteFiles(dropped[0].storageId());
    }
    return added[0];
  }

  // ---------------------------------------------------------------- lookups and reads

  @Override
  public CompletionStage<List<StoredResponse>> lookup(String key) {
    Entry[] es = index.get(key);
    if (es == null) {
      return NONE;
    }
    long now = useClock.incrementAndGet();
    StoredResponse[] metas = new StoredResponse[es.length];
    for (int i = 0; i < es.length; i++) {
      es[i].lastUsed = now;
      metas[i] = es[i].meta;
    }
    return CompletableFuture.completedFuture(List.of(metas));
  }

  private Entry find(StoredResponse r) {
    Entry[] es = index.get(r.key());
    if (es != null) {
      for (Entry e : es) {
        if (e.meta.storageId().equals(r.storageId()) && e.meta.variant().equals(r.variant())) {
          return e;
        }
      }
    }
    return null;
  }

  @Override
  public CompletionStage<ByteBuffer> read(StoredResponse response, long position, int maxBytes) {
    if (find(response) == null) {
      return CompletableFuture.failedFuture(new NoSuchElementException("no longer stored: " + response));
    }
    long length = response.bodyLength();
    if (position >= length) {
      return CompletableFuture.completedFuture(ByteBuffer.allocate(0));
    }
    return supply(() -> {
      int n = (int) Math.min(maxBytes, length - position);
      ByteBuffer b = ByteBuffer.allocate(n);
      try (FileChannel ch = FileChannel.open(bodyPath(response.storageId()), StandardOpenOption.READ)) {
        while (b.hasRemaining()) {
          if (ch.read(b, position + b.position()) < 0) {
            throw new IOException("cache file shorter than its record: " + response);
          }
        }
      } catch (NoSuchFileException e) {
        throw new NoSuchElementException("no longer stored: " + response);
      }
      return b.flip();
    });
  }

  // ---------------------------------------------------------------- writing

  @Override
  public Writer writer(StoredResponse response) {
    return new FileWriter(Objects.requireNonNull(response, "response"));
  }

  private final class FileWriter implements Writer {
    private final StoredResponse meta;
    private final String id;
    private final Path tmpBody;
    private final AtomicLong queued = new AtomicLong();
    private CompletableFuture<Void> chain;
    private FileChannel channel;
    private long total;
    private boolean ended;
    private boolean gaveUp;

    FileWriter(StoredResponse meta) {
      this.meta = meta;
      this.id = idOf(meta);
      this.tmpBody = tmp.resolve(id + BODY);
      this.chain = CompletableFuture.runAsync(() -> {
        try {
          channel = FileChannel.open(tmpBody, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }, io);
    }

    @Override
    public void write(ByteBuffer chunk) {
      if (ended || gaveUp) {
        return;
      }
      int n = chunk.remaining();
      total += n;
      if (total > maxBytes || queued.addAndGet(n) > MAX_QUEUED) {
        log.debug("cache files: giving up on {} (too large, or the disk does not keep up)", meta.key());
        gaveUp = true;
        return;
      }
      chain = chain.thenRunAsync(() -> {
        try {
          while (chunk.hasRemaining()) {
            channel.write(chunk);
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        } finally {
          queued.addAndGet(-n);
        }
      }, io);
    }

    @Override
    public CompletionStage<StoredResponse> commit() {
      if (ended) {
        return CompletableFuture.failedFuture(new IllegalStateException("already ended"));
      }
      ended = true;
      if (gaveUp || (meta.bodyLength() >= 0 && meta.bodyLength() != total)) {
        abortFiles();
        return CompletableFuture.failedFuture(new IllegalStateException("response not stored: " + meta.key()
            + (gaveUp ? " (over the store's size, or the disk did not keep up)" : " (body length differs from the declared one)")));
      }
      StoredResponse stored = meta.toBuilder().bodyLength(total).storageId(id).build();
      CompletableFuture<StoredResponse> done = new CompletableFuture<>();
      chain.thenRunAsync(() -> {
        try {
          channel.force(true);
          channel.close();
          Path metaTmp = tmp.resolve(id + META);
          writeMeta(metaTmp, stored);
          Files.createDirectories(shard(id));
          Files.move(tmpBody, bodyPath(id), StandardCopyOption.ATOMIC_MOVE);
          Files.move(metaTmp, metaPath(id), StandardCopyOption.ATOMIC_MOVE); // the commit
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        put(stored, total + metaSize(id));
      }, io).whenComplete((v, e) -> {
        if (e != null) {
          log.warn("cache files: storing {} failed: {}", meta.key(), e.toString());
          abortFiles();
          done.completeExceptionally(e);
        } else {
          done.complete(stored);
        }
      });
      return done;
    }

    @Override
    public void abort() {
      if (ended) {
        return;
      }
      ended = true;
      abortFiles();
    }

    private void abortFiles() {
      chain.whenCompleteAsync((v, e) -> {
        try {
          if (channel != null) {
            channel.close();
          }
          Files.deleteIfExists(tmpBody);
          Files.deleteIfExists(tmp.resolve(id + META));
        } catch (IOException x) {
          log.debug("cache files: cleaning up {} failed: {}", tmpBody, x.toString());
        }
      }, io);
    }
  }

  /** Makes a committed response visible; the one it replaces is deleted. Runs on an I/O thread of the store. */
  private void put(StoredResponse stored, long size) {
    List<StoredResponse> replaced = new ArrayList<>(1);
    long now = useClock.incrementAndGet();
    index.compute(stored.key(), (k, old) -> {
      List<Entry> list = old == null ? new ArrayList<>(1) : new ArrayList<>(Arrays.asList(old));
      list.removeIf(e -> {
        if (e.meta.variant().equals(stored.variant())) {
          replaced.add(e.meta);
          bytes.addAndGet(-e.size);
          responses.decrementAndGet();
          return true;
        }
        return false;
      });
      while (list.size() >= MemoryStore.MAX_VARIANTS) {
        Entry e = list.remove(0);
        replaced.add(e.meta);
        bytes.addAndGet(-e.size);
        responses.decrementAndGet();
      }
      list.add(new Entry(stored, size, now));
      bytes.addAndGet(size);
      responses.incrementAndGet();
      return list.toArray(new Entry[0]);
    });
    for (StoredResponse r : replaced) {
      deleteFiles(r.storageId());
    }
    evictIfNeeded();
  }

  @Override
  public CompletionStage<Boolean> update(StoredResponse stored, StoredResponse replacement) {
    if (find(stored) == null) {
      return CompletableFuture.completedFuture(false);
    }
    StoredResponse updated = replacement.toBuilder().bodyLength(stored.bodyLength()).storageId(stored.storageId()).build();
    return supply(() -> {
      Path metaTmp = tmp.resolve(stored.storageId() + "-" + generation.incrementAndGet() + META);
      writeMeta(metaTmp, updated);
      boolean[] done = new boolean[1];
      index.computeIfPresent(stored.key(), (k, old) -> {
        Entry[] copy = old.clone();
        for (int i = 0; i < copy.length; i++) {
          if (copy[i].meta.storageId().equals(stored.storageId()) && copy[i].meta.variant().equals(stored.variant())) {
            try {
              Files.move(metaTmp, metaPath(stored.storageId()), StandardCopyOption.ATOMIC_MOVE,
                  StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
            copy[i] = new Entry(updated, copy[i].size, useClock.incrementAndGet());
            done[0] = true;
          }
        }
        return copy;
      });
      if (!done[0]) {
        Files.deleteIfExists(metaTmp);
      }
      return done[0];
    });
  }

  // ---------------------------------------------------------------- removal and eviction

  @Override
  public CompletionStage<Long> remove(String key) {
    Entry[] es = index.remove(key);
    if (es == null) {
      return CompletableFuture.completedFuture(0L);
    }
    for (Entry e : es) {
      forget(e);
    }
    return CompletableFuture.completedFuture((long) es.length);
  }

  @Override
  public CompletionStage<Boolean> remove(StoredResponse response) {
    return CompletableFuture.completedFuture(removeWhere(response.key(), e ->
        e.meta.storageId().equals(response.storageId()) && e.meta.variant().equals(response.variant())) > 0);
  }

  @Override
  public CompletionStage<Long> removeTagged(String tag) {
    long n = 0;
    for (String key : index.keySet().toArray(new String[0])) {
      n += removeWhere(key, e -> e.meta.tags().contains(tag));
    }
    return CompletableFuture.completedFuture(n);
  }

  @Override
  public CompletionStage<Long> clear() {
    long n = 0;
    for (String key : index.keySet().toArray(new String[0])) {
      n += remove(key).toCompletableFuture().join();
    }
    return CompletableFuture.completedFuture(n);
  }

  private long removeWhere(String key, java.util.function.Predicate<Entry> which) {
    List<Entry> gone = new ArrayList<>(1);
    index.computeIfPresent(key, (k, old) -> {
      List<Entry> keep = new ArrayList<>(old.length);
      for (Entry e : old) {
        if (which.test(e)) {
          gone.add(e);
        } else {
          keep.add(e);
        }
      }
      return gone.isEmpty() ? old : keep.isEmpty() ? null : keep.toArray(new Entry[0]);
    });
    for (Entry e : gone) {
      forget(e);
    }
    return gone.size();
  }

  /** An entry left the index: its bytes no longer count and its files go. */
  private void forget(Entry e) {
    bytes.addAndGet(-e.size);
    responses.decrementAndGet();
    deleteFiles(e.meta.storageId());
  }

  /** Over the size: deletes the least recently used responses until under 90% of it. */
  private void evictIfNeeded() {
    if (bytes.get() <= maxBytes || !evicting.compareAndSet(0, 1)) {
      return;
    }
    try {
      List<Entry> all = new ArrayList<>();
      for (Entry[] es : index.values()) {
        all.addAll(Arrays.asList(es));
      }
      all.sort(Comparator.comparingLong(e -> e.lastUsed));
      long target = maxBytes - maxBytes / 10;
      for (Entry e : all) {
        if (bytes.get() <= target) {
          break;
        }
        if (removeWhere(e.meta.key(), x -> x == e) > 0) {
          evictions.increment();
        }
      }
    } finally {
      evicting.set(0);
    }
  }

  private void deleteFiles(String id) {
    Runnable delete = () -> {
      try {
        Files.deleteIfExists(metaPath(id)); // the record first: a crash in between leaves an orphan body
        Files.deleteIfExists(bodyPath(id));
      } catch (IOException e) {
        log.debug("cache files: deleting {} failed: {}", id, e.toString());
      }
    };
    if (closed) {
      delete.run();
    } else {
      try {
        io.execute(delete);
      } catch (RuntimeException e) {
        delete.run();
      }
    }
  }

  @Override
  public long size() {
    return bytes.get();
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
    if (closed) {
      return;
    }
    closed = true;
    io.shutdown();
    try {
      if (!io.awaitTermination(10, TimeUnit.SECONDS)) {
        io.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      io.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "FileStore(" + dir + ", " + DataSize.ofBytes(maxBytes) + ")";
  }

  // ---------------------------------------------------------------- files

  /** A new id for a response: a hash of its key and variant, and a generation that makes it unique. */
  private String idOf(StoredResponse meta) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(meta.key().getBytes(StandardCharsets.UTF_8));
      md.update((byte) 0);
      md.update(meta.variant().getBytes(StandardCharsets.UTF_8));
      String hash = HexFormat.of().formatHex(md.digest(), 0, 16);
      return hash + "-" + Long.toHexString(generation.incrementAndGet());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }

  private Path shard(String id) {
    return dir.resolve(id.substring(0, 2));
  }

  private Path bodyPath(String id) {
    return shard(id).resolve(id + BODY);
  }

  private Path metaPath(String id) {
    return shard(id).resolve(id + META);
  }

  private long metaSize(String id) {
    try {
      return Files.size(metaPath(id));
    } catch (IOException e) {
      return 0;
    }
  }

  private interface IoSupplier<T> {
    T get() throws IOException;
  }

  private <T> CompletableFuture<T> supply(IoSupplier<T> task) {
    CompletableFuture<T> f = new CompletableFuture<>();
    try {
      io.execute(() -> {
        try {
          f.complete(task.get());
        } catch (IOException | RuntimeException e) {
          f.completeExceptionally(e);
        }
      });
    } catch (RuntimeException e) {
      f.completeExceptionally(new IllegalStateException("cache store closed", e));
    }
    return f;
  }

  /** Writes a record with its CRC and flushes it to disk. */
  private static void writeMeta(Path path, StoredResponse m) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(512);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeInt(FORMAT);
      writeString(out, m.key());
      writeString(out, m.variant());
      out.writeInt(m.status());
      out.writeInt(m.headers().size());
      for (Map.Entry<String, String> h : m.headers()) {
        writeString(out, h.getKey());
        writeString(out, h.getValue());
      }
      out.writeLong(m.requestTime().getEpochSecond());
      out.writeInt(m.requestTime().getNano());
      out.writeLong(m.responseTime().getEpochSecond());
      out.writeInt(m.responseTime().getNano());
      out.writeLong(m.initialAge().getSeconds());
      out.writeLong(m.bodyLength());
      out.writeInt(m.tags().size());
      for (String t : m.tags()) {
        writeString(out, t);
      }
    }
    byte[] data = bytes.toByteArray();
    CRC32 crc = new CRC32();
    crc.update(data);
    ByteBuffer all = ByteBuffer.allocate(data.length + 8);
    all.put(data).putLong(crc.getValue()).flip();
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE)) {
      while (all.hasRemaining()) {
        ch.write(all);
      }
      ch.force(true);
    }
  }

  /** The record in {@code path}, or null when it is damaged or not this format. */
  private static StoredResponse readMeta(Path path, String id) {
    try {
      byte[] all = Files.readAllBytes(path);
      if (all.length < 12) {
        return null;
      }
      CRC32 crc = new CRC32();
      crc.update(all, 0, all.length - 8);
      if (crc.getValue() != ByteBuffer.wrap(all, all.length - 8, 8).getLong()) {
        return null;
      }
      DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(all, 0, all.length - 8));
      if (in.readInt() != FORMAT) {
        return null;
      }
      String key = readString(in);
      String variant = readString(in);
      StoredResponse.Builder b = StoredResponse.builder(key, in.readInt()).variant(variant);
      int headers = in.readInt();
      for (int i = 0; i < headers; i++) {
        b.header(readString(in), readString(in));
      }
      b.requestTime(Instant.ofEpochSecond(in.readLong(), in.readInt()));
      b.responseTime(Instant.ofEpochSecond(in.readLong(), in.readInt()));
      b.initialAge(Duration.ofSeconds(in.readLong()));
      b.bodyLength(in.readLong());
      int tags = in.readInt();
      List<String> list = new ArrayList<>(tags);
      for (int i = 0; i < tags; i++) {
        list.add(readString(in));
      }
      return b.tags(list).storageId(id).build();
    } catch (IOException | RuntimeException e) {
      return null; // damaged: the caller deletes it
    }
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  private static String readString(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > 1 << 20) {
      throw new IOException("bad string length " + n);
    }
    return new String(in.readNBytes(n), StandardCharsets.UTF_8);
  }
}
