package dev.gatehouse.proxy.cache;

import static dev.gatehouse.proxy.cache.Origin.Reply;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The file store: restarts, crash safety, eviction, and the cache on top of it. */
@Timeout(30)
class FileStoreTest {
  @TempDir
  Path dir;

  private static StoredResponse meta(String key, long length, String... tags) {
    return StoredResponse.builder(key, 200).bodyLength(length).tags(List.of(tags))
        .header("Cache-Control", "max-age=60").header("ETag", "\"e\"").build();
  }

  private static StoredResponse put(CacheStore store, StoredResponse meta, String body) {
    CacheStore.Writer w = store.writer(meta);
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    w.write(ByteBuffer.wrap(b, 0, b.length / 2));
    w.write(ByteBuffer.wrap(b, b.length / 2, b.length - b.length / 2));
    return w.commit().toCompletableFuture().join();
  }

  private static String read(CacheStore store, StoredResponse r) {
    ByteBuffer b = store.read(r, 0, 1 << 20).toCompletableFuture().join();
    return StandardCharsets.UTF_8.decode(b).toString();
  }

  private List<Path> files(String suffix) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> p.toString().endsWith(suffix)).toList();
    }
  }

  @Test
  void responsesSurviveARestart() throws Exception {
    StoredResponse stored;
    try (CacheStore store = CacheStore.files(dir, DataSize.ofMiB(1))) {
      stored = put(store, meta("http://a/x", -1, "t1"), "hello, disk");
    }
    try (CacheStore store = CacheStore.files(dir, DataSize.ofMiB(1))) {
      List<StoredResponse> found = store.lookup("http://a/x").toCompletableFuture().join();

      assertThat(found).containsExactly(stored);
      assertThat(read(store, found.get(0))).isEqualTo("hello, disk");
      assertThat(store.count()).isEqualTo(1);
      assertThat(store.removeTagged("t1").toCompletableFuture().join()).isEqualTo(1);
    }
    try (CacheStore store = CacheStore.files(dir, DataSize.ofMiB(1))) {
      assertThat(store.count()).isZero();
    }
  }

  @Test
  void halfWrittenResponsesAreNeverServedAndAreCleanedUpAtStart() throws Exception {
    try (CacheStore store = CacheStore.files(dir, DataSize.ofMiB(1))) {
      put(store, meta("http://a/good", -1), "good");
      put(store, meta("http://a/torn", -1), "0123456789");
      put(store, meta("http://a/bad", -1), "x");
      CacheStore.Writer unfinished = store.writer(meta("http://a/unfinished", -1));
      unfinished.write(ByteBuffer.wrap("half".getBytes(StandardCharsets.UTF_8)));
      // the process dies here: the writer never commits
      assertThat(store.lookup("http://a/unfinished").toCompletableFuture().join()).isEmpty();
    }
    // a crash tore a body (shorter than its record says) and corrupted another record
    Path torn = files(".body").stream().filter(p -> {
      try {
        return Files.size(p) == 10;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }).findFirst().orElseThrow();
    Files.write(torn, "01234".getBytes(StandardCharsets.UTF_8));
    Path badMeta = files(".meta").stream().filter(p -> {
      try {
        return new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1).contains("http://a/bad");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }).findFirst().orElseThrow();
    byte[] m = Files.readAllBytes(badMeta);
    m[m.length / 2] ^= 0x55;
    Files.write(badMeta, m);
    // and a body whose record was never written
    Files.write(files(".body").get(0).resolveSibling("00deadbeef-1.body"), "orphan".getBytes(StandardCharsets.UTF_8));

    try (CacheStore store = CacheStore.files(dir, DataSize.ofMiB(1))) {
      assertThat(store.lookup("http://a/good").toCompletableFuture().join()).hasSize(1);
      assertThat(store.lookup("http://a/torn").toCompletableFuture().join()).isEmpty();
      assertThat(store.lookup("http://a/bad").toCompletableFuture().join()).isEmpty();
      assertThat(store.lookup("http://a/unfinished").toCompletableFuture().join()).isEmpty();
      assertThat(store.count()).isEqualTo(1);
    }
    assertThat(files(".body")).hasSize(1);
    assertThat(files(".meta")).hasSize(1);
    try (Stream<Path> leftovers = Files.list(dir.resolve("tmp"))) {
      assertThat(leftovers).isEmpty();
    }
  }

  @Test
  void replacingAResponseDeletesTheOldFilesAndUpdateKeepsTheBody() throws Exception {
    try (CacheStore store = CacheStore.files(dir, DataSize.ofMiB(1))) {
      StoredResponse first = put(store, meta("http://a/x", -1), "one");
      StoredResponse second = put(store, meta("http://a/x", -1), "two");
      StoredResponse refreshed = second.toBuilder().clearHeaders().header("Cache-Control", "max-age=999").build();

      assertThat(store.update(second, refreshed).toCompletableFuture().join()).isTrue();
      assertThat(store.update(first, refreshed).toCompletableFuture().join()).isFalse();
      Await.until("the old files are deleted", () -> {
        try {
          return files(".body").size() == 1;
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
    }
    try (CacheStore store = CacheStore.files(dir, DataSize.ofMiB(1))) {
      StoredResponse now = store.lookup("http://a/x").toCompletableFuture().join().get(0);
      assertThat(now.header("Cache-Control")).contains("max-age=999");
      assertThat(read(store, now)).isEqualTo("two");
    }
  }

  @Test
  void leastRecentlyUsedResponsesAreEvictedToStayWithinTheSize() throws Exception {
    try (CacheStore store = CacheStore.files(dir, DataSize.ofKiB(64))) {
      String body = "z".repeat(4000);
      put(store, meta("http://a/keep", -1), body);
      for (int i = 0; i < 40; i++) {
        store.lookup("http://a/keep"); // used all the time
        put(store, meta("http://a/" + i, -1), body);
        assertThat(store.size()).isLessThanOrEqualTo(DataSize.ofKiB(64).toBytes());
      }
      assertThat(store.evictions()).isGreaterThan(20);
      assertThat(store.lookup("http://a/keep").toCompletableFuture().join()).hasSize(1);
      assertThat(store.lookup("http://a/0").toCompletableFuture().join()).isEmpty();
    }
  }

  @Test
  void declaredLengthMismatchIsNotStored() throws Exception {
    try (CacheStore store = CacheStore.files(dir, DataSize.ofMiB(1))) {
      CacheStore.Writer w = store.writer(meta("http://a/x", 10));
      w.write(ByteBuffer.wrap("short".getBytes(StandardCharsets.UTF_8)));
      assertThat(w.commit().toCompletableFuture().handle((r, e) -> e)).succeedsWithin(Duration.ofSeconds(5))
          .isNotNull();
      assertThat(store.count()).isZero();
    }
  }

  @Test
  void cacheOnFilesServesHitsAcrossARestartOfTheProxy() throws Exception {
    AtomicInteger n = new AtomicInteger();
    String body = "b".repeat(300_000); // several reads from disk
    try (Origin origin = new Origin(r -> Reply.of(200, body + n.incrementAndGet(), "Cache-Control", "max-age=600"))) {
      try (HttpCache cache = HttpCache.fileStore(dir, DataSize.ofMiB(8));
           ProxyServer proxy = Proxies.start(origin, cache)) {
        Proxies.get(proxy, "/a");
        Await.until("stored", () -> cache.stats().entries() == 1);
        RawHttp.Response hit = Proxies.get(proxy, "/a");
        assertThat(hit.header("cache-status")).startsWith("gatehouse; hit");
        assertThat(hit.bodyText()).isEqualTo(body + "1");
      }
      try (HttpCache cache = HttpCache.fileStore(dir, DataSize.ofMiB(8));
           ProxyServer proxy = Proxies.start(origin, cache)) {
        RawHttp.Response afterRestart = Proxies.get(proxy, "/a");
        RawHttp.Response range = Proxies.get(proxy, "/a", "Range: bytes=299999-300000");

        assertThat(afterRestart.header("cache-status")).startsWith("gatehouse; hit");
        assertThat(afterRestart.bodyText()).isEqualTo(body + "1");
        assertThat(afterRestart.truncated).isFalse();
        assertThat(range.bodyText()).isEqualTo("b1");
        assertThat(origin.requests()).isEqualTo(1);
      }
    }
  }
}
