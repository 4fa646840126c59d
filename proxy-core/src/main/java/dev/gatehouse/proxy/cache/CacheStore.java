package dev.gatehouse.proxy.cache;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.internal.cache.FileStore;
import dev.gatehouse.proxy.internal.cache.MemoryStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Where an {@link HttpCache} keeps responses. The cache decides what may be stored and served (the HTTP
 * semantics); a store only keeps {@link StoredResponse} records and their bodies, bounded in size, and
 * evicts what it must. Two stores come with the library: {@link #inMemory(DataSize)} and {@link
 * #files(Path, DataSize)}; the interface is shaped for a remote one as well (a shared tier for several
 * proxies): every operation is asynchronous, the record is looked up apart from the body, and bodies
 * are written and read in chunks.
 *
 * <p><b>Threading.</b> Every method may be called on an I/O thread and must return at once: no blocking
 * I/O, no waiting on a lock held for long. Returned stages may complete on any thread. A failed stage
 * is treated as a miss (lookup), a cut body (read) or a response not stored (commit); it is logged and
 * never reaches a client as an error.
 *
 * <p><b>Consistency.</b> A response becomes visible only when its {@link Writer#commit()} completes; a
 * reader must never see part of a body, or a body that belongs to another record. A committed response
 * replaces the one stored under the same {@linkplain StoredResponse#key() key} and {@linkplain
 * StoredResponse#variant() variant}.
 */
public interface CacheStore extends AutoCloseable {

  /**
   * The records stored under {@code key} (every variant), without their bodies; an empty list when
   * none.
   */
  CompletionStage<List<StoredResponse>> lookup(String key);

  /**
   * Reads the body of {@code response} (a record this store returned) from byte {@code position}: at
   * least one byte and at most {@code maxBytes}, or an empty buffer at the end of the body. The buffer
   * is the caller's to read and must not change afterwards (a read-only view of stored bytes is fine).
   * Fails with {@link java.util.NoSuchElementException} when the response is no longer stored.
   */
  CompletionStage<ByteBuffer> read(StoredResponse response, long position, int maxBytes);

  /**
   * Starts storing {@code response} (its {@linkplain StoredResponse#bodyLength() length} is the expected
   * one, or -1 when unknown); nothing is visible until {@link Writer#commit()}.
   */
  Writer writer(StoredResponse response);

  /**
   * Replaces the record of a stored response, keeping its body (after a {@code 304} refreshed its
   * header fields). Completes with false, changing nothing, when {@code stored} (compared by key,
   * variant and storage id) is no longer what the store holds.
   */
  CompletionStage<Boolean> update(StoredResponse stored, StoredResponse replacement);

  /** Removes every variant stored under {@code key}; completes with how many were removed. */
  CompletionStage<Long> remove(String key);

  /** Removes one stored response (compared by key, variant and storage id); completes with whether it was there. */
  CompletionStage<Boolean> remove(StoredResponse response);

  /** Removes every response tagged {@code tag} (a surrogate key); completes with how many were removed. */
  CompletionStage<Long> removeTagged(String tag);

  /** Removes everything; completes with how many responses were removed. */
  CompletionStage<Long> clear();

  /** Bytes held now: bodies plus an estimate of the records. */
  long size();

  /** Responses held now. */
  long count();

  /** Responses removed so far to stay within the size bound. */
  long evictions();

  /** Releases the store's resources (threads, files). Stored responses of a persistent store stay. */
  @Override
  void close();

  /**
   * The body of a response being stored, chunk by chunk, on the thread that receives it from the
   * upstream. Exactly one of {@link #commit()} or {@link #abort()} ends it.
   */
  interface Writer {

    /**
     * Appends {@code chunk} to the body. The buffer is handed over: it never changes afterwards and the
     * store may keep it (or a view of it). Must not block; a store that cannot keep up may give up on
     * this response, and its {@link #commit()} then fails.
     */
    void write(ByteBuffer chunk);

    /** The whole body was written: makes the response visible; completes with the record as stored. */
    CompletionStage<StoredResponse> commit();

    /** The body was cut or is not to be stored: forgets everything written. */
    void abort();
  }

  /**
   * A store in memory, bounded by {@code maxSize} (bodies plus an estimate of the records), with
   * Caffeine's eviction policy (Window TinyLFU, weighted by bytes). Bodies are kept off the Java heap
   * (direct buffers) and written to clients without a copy.
   *
   * @throws IllegalStateException if {@code com.github.ben-manes.caffeine:caffeine} is not on the class path
   */
  static CacheStore inMemory(DataSize maxSize) {
    return MemoryStore.create(maxSize);
  }

  /**
   * A store of files in {@code directory} (created if missing), bounded by {@code maxSize}: one response
   * is a body file and a record file, written under {@code tmp/} and moved into place when complete
   * (body first, record last), so a half-written response is never served, not even after a crash;
   * what a previous run stored is read back at creation (the records are kept in memory, the bodies on
   * disk). When over its size, the least recently used responses are deleted. File I/O runs on the
   * store's own threads, which {@link #close()} stops.
   *
   * @throws java.io.UncheckedIOException if the directory cannot be created or read
   */
  static CacheStore files(Path directory, DataSize maxSize) {
    return FileStore.open(directory, maxSize);
  }
}
