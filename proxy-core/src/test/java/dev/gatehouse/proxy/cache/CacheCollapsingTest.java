package dev.gatehouse.proxy.cache;

import static dev.gatehouse.proxy.cache.Origin.Reply;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Request collapsing, streaming while storing, and cut bodies. */
@Timeout(60)
class CacheCollapsingTest {

  private static List<RawHttp.Response> concurrently(int n, ProxyServer proxy, String path, String... headers)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<RawHttp.Response>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        fs.add(pool.submit(() -> Proxies.get(proxy, path, headers)));
      }
      List<RawHttp.Response> out = new ArrayList<>();
      for (Future<RawHttp.Response> f : fs) {
        out.add(f.get(30, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void hundredConcurrentMissesMakeOneUpstreamRequest() throws Exception {
    HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(16));
    String body = "x".repeat(200_000);
    try (Origin origin = new Origin(r -> {
          // answer only once every other request waits for this one
          Await.until("99 waiters", () -> cache.stats().collapsedWaits() == 99);
          return Reply.of(200, body, "Cache-Control", "max-age=60");
        });
         cache;
         ProxyServer proxy = Proxies.start(origin, cache)) {
      List<RawHttp.Response> responses = concurrently(100, proxy, "/big");

      assertThat(origin.requests()).isEqualTo(1);
      assertThat(responses).allSatisfy(r -> {
        assertThat(r.status).isEqualTo(200);
        assertThat(r.truncated).isFalse();
        assertThat(r.bodyText()).isEqualTo(body);
      });
      assertThat(responses).filteredOn(r -> r.header("cache-status").endsWith("collapsed")).hasSize(99);
      assertThat(cache.stats().misses()).isEqualTo(1);
      assertThat(cache.stats().collapsedWaits()).isEqualTo(99);
    }
  }

  @Test
  void waitersFollowABodyStillStreamingFromTheUpstream() throws Exception {
    CountDownLatch rest = new CountDownLatch(1);
    HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(16));
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          c.write("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 10\r\n\r\n01234");
          rest.await(20, TimeUnit.SECONDS);
          c.write("56789");
        });
         cache;
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).cache(cache).build().start()) {
      try (RawHttp first = RawHttp.connect(proxy.port()); RawHttp second = RawHttp.connect(proxy.port())) {
        first.send("GET /s HTTP/1.1\r\nHost: example.com\r\n\r\n");
        // the first client sees the first half before the upstream sent the rest
        readUntilBody(first, "01234");
        Await.until("the response is being followed", () -> cache.stats().collapsedWaits() == 0);
        second.send("GET /s HTTP/1.1\r\nHost: example.com\r\n\r\n");
        readUntilBody(second, "01234");
        assertThat(cache.stats().collapsedWaits()).isEqualTo(1);
        rest.countDown();
        assertThat(new String(first.input().readNBytes(5), StandardCharsets.ISO_8859_1)).isEqualTo("56789");
        assertThat(new String(second.input().readNBytes(5), StandardCharsets.ISO_8859_1)).isEqualTo("56789");
      }
      assertThat(up.requests).hasSize(1);
    }
  }

  /** Reads a response head and then the body bytes {@code expected}. */
  private static void readUntilBody(RawHttp c, String expected) throws Exception {
    StringBuilder sb = new StringBuilder();
    while (!sb.toString().contains("\r\n\r\n")) {
      sb.append((char) c.input().read());
    }
    assertThat(sb.toString()).startsWith("HTTP/1.1 200");
    assertThat(new String(c.input().readNBytes(expected.length()), StandardCharsets.ISO_8859_1)).isEqualTo(expected);
  }

  @Test
  void responseThatCannotBeStoredReleasesTheWaitersAndIsThenFetchedWithoutWaiting() throws Exception {
    AtomicInteger n = new AtomicInteger();
    HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(16));
    try (Origin origin = new Origin(r -> {
          int i = n.incrementAndGet();
          if (i == 1) {
            Await.until("4 waiters", () -> cache.stats().collapsedWaits() == 4);
          }
          return Reply.of(200, "for request " + i, "Cache-Control", "private");
        });
         cache;
         ProxyServer proxy = Proxies.start(origin, cache)) {
      List<RawHttp.Response> responses = concurrently(5, proxy, "/me");
      long waitsBefore = cache.stats().collapsedWaits();
      concurrently(5, proxy, "/me");

      assertThat(origin.requests()).isEqualTo(10);
      assertThat(responses).extracting(RawHttp.Response::bodyText).doesNotHaveDuplicates();
      assertThat(cache.stats().collapsedWaits()).isEqualTo(waitsBefore); // hit-for-miss: no more waiting
    }
  }

  @Test
  void waiterGoesUpstreamAloneAfterTheCollapseTimeout() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> {
          if (n.getAndIncrement() == 0) {
            release.await(20, TimeUnit.SECONDS);
            return Reply.of(200, "slow", "Cache-Control", "max-age=60");
          }
          return Reply.of(200, "own", "Cache-Control", "max-age=60");
        });
         HttpCache cache = HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(1)))
             .collapseTimeout(Duration.ofMillis(200)).build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      ExecutorService pool = Executors.newSingleThreadExecutor();
      try {
        Future<RawHttp.Response> leader = pool.submit(() -> Proxies.get(proxy, "/a"));
        Await.until("the leader reached the origin", () -> origin.requests() == 1);
        RawHttp.Response waiter = Proxies.get(proxy, "/a");
        release.countDown();

        assertThat(waiter.bodyText()).isEqualTo("own");
        assertThat(waiter.header("cache-status")).doesNotContain("collapsed");
        assertThat(leader.get(10, TimeUnit.SECONDS).bodyText()).isEqualTo("slow");
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void aWaiterWithAnotherVariantGoesUpstreamItself() throws Exception {
    AtomicInteger n = new AtomicInteger();
    HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(16));
    try (Origin origin = new Origin(r -> {
          if (n.incrementAndGet() == 1) {
            Await.until("a waiter", () -> cache.stats().collapsedWaits() == 1);
          }
          return Reply.of(200, "lang=" + r.header("accept-language"), "Cache-Control", "max-age=60",
              "Vary", "Accept-Language");
        });
         cache;
         ProxyServer proxy = Proxies.start(origin, cache)) {
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<RawHttp.Response> en = pool.submit(() -> Proxies.get(proxy, "/a", "Accept-Language: en"));
        Await.until("the first request reached the origin", () -> origin.requests() == 1);
        Future<RawHttp.Response> fr = pool.submit(() -> Proxies.get(proxy, "/a", "Accept-Language: fr"));

        assertThat(en.get(10, TimeUnit.SECONDS).bodyText()).isEqualTo("lang=en");
        assertThat(fr.get(10, TimeUnit.SECONDS).bodyText()).isEqualTo("lang=fr");
        assertThat(origin.requests()).isEqualTo(2);
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void upstreamResetMidBodyLeavesNothingStoredAndTheClientSeesATruncatedResponse() throws Exception {
    CountDownLatch clientHasPart = new CountDownLatch(1);
    AtomicInteger n = new AtomicInteger();
    HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
    try (RawUpstream up = RawUpstream.start(c -> {
          RawUpstream.Request r;
          while ((r = c.readRequest()) != null) {
            if (n.getAndIncrement() == 0) {
              c.write("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\n0123456789");
              clientHasPart.await(20, TimeUnit.SECONDS);
              c.reset();
              return;
            }
            c.write("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 5\r\n\r\nwhole");
          }
        });
         cache;
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).cache(cache).build().start()) {
      try (RawHttp c = RawHttp.connect(proxy.port())) {
        c.send("GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n");
        readUntilBody(c, "0123456789");
        clientHasPart.countDown();
        assertThat(c.isClosedByPeer()).isTrue(); // cut: the 90 missing bytes never come
      }
      RawHttp.Response again = Proxies.get(proxy, "/a");

      assertThat(again.bodyText()).isEqualTo("whole");
      assertThat(again.header("cache-status")).startsWith("gatehouse; fwd=uri-miss");
      assertThat(up.requests).hasSize(2);
      assertThat(cache.stats().entries()).isEqualTo(1);
    }
  }

  @Test
  void waitersOfABodyThatIsCutAreCutToo() throws Exception {
    CountDownLatch reset = new CountDownLatch(1);
    HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          c.write("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\n01234");
          reset.await(20, TimeUnit.SECONDS);
          c.reset();
        });
         cache;
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).cache(cache).build().start()) {
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<RawHttp.Response> a = pool.submit(() -> Proxies.get(proxy, "/a"));
        Await.until("the first request reached the upstream", () -> up.requests.size() == 1);
        Future<RawHttp.Response> b = pool.submit(() -> Proxies.get(proxy, "/a"));
        Await.until("a waiter", () -> cache.stats().collapsedWaits() == 1);
        reset.countDown();

        // as without a cache: a visibly cut 200, or a 502 when the cut came before any byte was sent
        RawHttp.Response first = a.get(10, TimeUnit.SECONDS);
        RawHttp.Response waiter = b.get(10, TimeUnit.SECONDS);
        assertThat(first.truncated || first.status == 502).as("first: %s", first).isTrue();
        assertThat(waiter.truncated || waiter.status == 502).as("waiter: %s", waiter).isTrue();
        assertThat(cache.stats().entries()).isZero();
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void bodyOverTheMaximumObjectSizeStreamsButIsNotStored() throws Exception {
    String big = "y".repeat(5000);
    try (Origin origin = new Origin(r -> Origin.Reply.rawThenReset("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(big.length()) + "\r\n" + big + "\r\n0\r\n\r\n"));
         HttpCache cache = HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(1))).maxObjectSize(DataSize.ofKiB(4)).build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response r = Proxies.get(proxy, "/big");
      Proxies.get(proxy, "/big");

      assertThat(r.bodyText()).isEqualTo(big);
      assertThat(r.truncated).isFalse();
      assertThat(origin.requests()).isEqualTo(2);
      assertThat(cache.stats().entries()).isZero();
    }
  }

  @Test
  void whenTheFirstClientLeavesMidBodyTheFetchGoesOnForTheWaitersAndTheStore() throws Exception {
    CountDownLatch rest = new CountDownLatch(1);
    byte[] tail = new byte[4 * 1024 * 1024];
    java.util.Arrays.fill(tail, (byte) 't');
    HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(16));
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          c.write("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: " + (5 + tail.length)
              + "\r\n\r\n01234");
          rest.await(20, TimeUnit.SECONDS);
          c.write(tail);
        });
         cache;
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).cache(cache).build().start()) {
      RawHttp leaver = RawHttp.connect(proxy.port());
      leaver.send("GET /s HTTP/1.1\r\nHost: example.com\r\n\r\n");
      readUntilBody(leaver, "01234");
      try (RawHttp stayer = RawHttp.connect(proxy.port())) {
        stayer.send("GET /s HTTP/1.1\r\nHost: example.com\r\n\r\n");
        readUntilBody(stayer, "01234");
        leaver.socket().setSoLinger(true, 0);
        leaver.close(); // the first client goes away with a reset
        rest.countDown();
        byte[] got = stayer.input().readNBytes(tail.length);
        assertThat(got.length).isEqualTo(tail.length);
        assertThat(java.util.Arrays.equals(got, tail)).isTrue();
      }
      Await.until("stored", () -> cache.stats().entries() == 1);
      RawHttp.Response hit = Proxies.get(proxy, "/s");

      assertThat(hit.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(hit.body.length).isEqualTo(5 + tail.length);
      assertThat(up.requests).hasSize(1);
    }
  }
}
