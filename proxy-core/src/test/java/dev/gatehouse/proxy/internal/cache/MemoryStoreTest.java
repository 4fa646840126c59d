package dev.gatehouse.proxy.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.cache.CacheStore;
import dev.gatehouse.proxy.cache.StoredResponse;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class MemoryStoreTest {

  private static StoredResponse meta(String key, String variant, long length, String... tags) {
    return StoredResponse.builder(key, 200).variant(variant).bodyLength(length).tags(List.of(tags))
        .header("Cache-Control", "max-age=60").build();
  }

  private static StoredResponse put(CacheStore store, StoredResponse meta, byte[] body) {
    CacheStore.Writer w = store.writer(meta);
    int half = body.length / 2;
    w.write(ByteBuffer.wrap(body, 0, half));
    w.write(ByteBuffer.wrap(body, half, body.length - half));
    return w.commit().toCompletableFuture().join();
  }

  @Test
  void storesAndReadsBodiesInChunks() {
    CacheStore store = CacheStore.inMemory(DataSize.ofMiB(1));
    StoredResponse stored = put(store, meta("k", "", -1), "0123456789".getBytes());

    assertThat(stored.bodyLength()).isEqualTo(10);
    assertThat(stored.storageId()).isNotEmpty();
    assertThat(store.lookup("k").toCompletableFuture().join()).containsExactly(stored);
    ByteBuffer b = store.read(stored, 3, 4).toCompletableFuture().join();
    assertThat(b.remaining()).isEqualTo(4);
    assertThat(b.get()).isEqualTo((byte) '3');
    assertThat(store.read(stored, 10, 4).toCompletableFuture().join().remaining()).isZero();
    assertThat(store.lookup("other").toCompletableFuture().join()).isEmpty();
  }

  @Test
  void aResponseIsInvisibleUntilCommittedAndAbortedOnesLeaveNothing() {
    CacheStore store = CacheStore.inMemory(DataSize.ofMiB(1));
    CacheStore.Writer w = store.writer(meta("k", "", 4));
    w.write(ByteBuffer.wrap("ab".getBytes()));
    assertThat(store.lookup("k").toCompletableFuture().join()).isEmpty();
    w.abort();
    assertThat(store.count()).isZero();
    CacheStore.Writer shortBody = store.writer(meta("k", "", 4));
    shortBody.write(ByteBuffer.wrap("ab".getBytes()));
    assertThatThrownBy(() -> shortBody.commit().toCompletableFuture().join()).isInstanceOf(CompletionException.class);
    assertThat(store.lookup("k").toCompletableFuture().join()).isEmpty();
  }

  @Test
  void variantsCoexistAndTheSameVariantIsReplaced() {
    CacheStore store = CacheStore.inMemory(DataSize.ofMiB(1));
    put(store, meta("k", "a", -1), "1".getBytes());
    StoredResponse b = put(store, meta("k", "b", -1), "2".getBytes());
    StoredResponse a2 = put(store, meta("k", "a", -1), "3".getBytes());

    assertThat(store.lookup("k").toCompletableFuture().join()).containsExactly(b, a2);
    assertThat(store.count()).isEqualTo(2);
    assertThat(store.remove("k").toCompletableFuture().join()).isEqualTo(2);
    assertThat(store.count()).isZero();
  }

  @Test
  void readOfAResponseNoLongerStoredFails() {
    CacheStore store = CacheStore.inMemory(DataSize.ofMiB(1));
    StoredResponse stored = put(store, meta("k", "", -1), "x".getBytes());
    store.remove(stored).toCompletableFuture().join();

    assertThatThrownBy(() -> store.read(stored, 0, 10).toCompletableFuture().join())
        .hasCauseInstanceOf(NoSuchElementException.class);
  }

  @Test
  void updateKeepsTheBodyAndOnlyAppliesToTheSameStoredResponse() {
    CacheStore store = CacheStore.inMemory(DataSize.ofMiB(1));
    StoredResponse old = put(store, meta("k", "", -1), "body".getBytes());
    StoredResponse refreshed = old.toBuilder().clearHeaders().header("Cache-Control", "max-age=999").build();

    assertThat(store.update(old, refreshed).toCompletableFuture().join()).isTrue();
    StoredResponse now = store.lookup("k").toCompletableFuture().join().get(0);
    assertThat(now.header("Cache-Control")).contains("max-age=999");
    assertThat(store.read(now, 0, 10).toCompletableFuture().join().remaining()).isEqualTo(4);
    StoredResponse stranger = old.toBuilder().storageId("nope").build();
    assertThat(store.update(stranger, refreshed).toCompletableFuture().join()).isFalse();
  }

  @Test
  void sizeStaysWithinTheBoundUnderChurn() {
    long max = DataSize.ofMiB(1).toBytes();
    CacheStore store = CacheStore.inMemory(DataSize.ofMiB(1));
    byte[] body = new byte[10_000];
    for (int i = 0; i < 2_000; i++) {
      put(store, meta("k" + i, "", body.length), body);
      assertThat(store.size()).isLessThanOrEqualTo(max);
    }
    assertThat(store.evictions()).isGreaterThan(1_800);
    assertThat(store.count()).isBetween(50L, 105L);
    assertThat(store.count() + store.evictions()).isEqualTo(2_000);
  }

  @Test
  void anObjectLargerThanTheWholeStoreIsNotKept() {
    CacheStore store = CacheStore.inMemory(DataSize.ofKiB(4));
    CacheStore.Writer w = store.writer(meta("k", "", -1));
    w.write(ByteBuffer.wrap(new byte[5000]));
    assertThatThrownBy(() -> w.commit().toCompletableFuture().join()).isInstanceOf(CompletionException.class);
    assertThat(store.count()).isZero();
  }

  @Test
  void removeTaggedRemovesOnlyTheTaggedVariants() {
    CacheStore store = CacheStore.inMemory(DataSize.ofMiB(1));
    put(store, meta("k", "a", -1, "red"), "1".getBytes());
    put(store, meta("k", "b", -1, "blue"), "2".getBytes());
    put(store, meta("j", "", -1, "red", "blue"), "3".getBytes());

    assertThat(store.removeTagged("red").toCompletableFuture().join()).isEqualTo(2);
    assertThat(store.lookup("k").toCompletableFuture().join()).extracting(StoredResponse::variant).containsExactly("b");
    assertThat(store.removeTagged("red").toCompletableFuture().join()).isZero();
    assertThat(store.clear().toCompletableFuture().join()).isEqualTo(1);
  }

  @Test
  void missingCaffeineIsNamedInTheError() throws Exception {
    try (URLClassLoader without = new URLClassLoader(new URL[0], null)) {
      assertThatThrownBy(() -> MemoryStore.requireCaffeine(without))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("the in-memory cache store needs com.github.ben-manes.caffeine:caffeine on the class path "
              + "(an optional dependency of proxy-core: add it to your build)");
    }
  }

  @Test
  void sizeMustBePositive() {
    assertThatThrownBy(() -> CacheStore.inMemory(DataSize.ofBytes(0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxSize: 0 bytes (expected: > 0)");
  }
}
