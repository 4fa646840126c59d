package dev.gatehouse.proxy.cache;

import static dev.gatehouse.proxy.cache.Origin.Reply;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Serving stale: stale-while-revalidate and stale-if-error (RFC 5861), the use-stale switch. */
@Timeout(30)
class CacheStaleTest {
  private final TestClock clock = new TestClock();

  private HttpCache.Builder cache() {
    return HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(16))).clock(clock);
  }

  /** A request that only says whether a fresh response is stored, never going upstream. */
  private static boolean freshStored(ProxyServer proxy) throws Exception {
    return Proxies.get(proxy, "/a", "Cache-Control: only-if-cached, min-fresh=1").status == 200;
  }

  @Test
  void staleWhileRevalidateServesStaleAndRevalidatesOnceInTheBackground() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> {
          if (n.getAndIncrement() == 0) {
            return Reply.of(200, "v1", "Cache-Control", "max-age=10, stale-while-revalidate=60", "ETag", "\"v1\"");
          }
          release.await(20, TimeUnit.SECONDS); // the revalidation is slow
          return Reply.of(304, "", "Cache-Control", "max-age=10, stale-while-revalidate=60", "ETag", "\"v1\"",
              "Date", clock.httpDate());
        });
         HttpCache cache = cache().build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(20));
      RawHttp.Response stale1 = Proxies.get(proxy, "/a");
      RawHttp.Response stale2 = Proxies.get(proxy, "/a");
      RawHttp.Response stale3 = Proxies.get(proxy, "/a");
      Await.until("the revalidation reached the origin", () -> origin.requests() == 2);
      release.countDown();
      Await.until("the stored response is fresh again", () -> {
        try {
          return freshStored(proxy);
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
      RawHttp.Response fresh = Proxies.get(proxy, "/a");

      assertThat(stale1.bodyText()).isEqualTo("v1");
      assertThat(stale1.header("cache-status")).isEqualTo("gatehouse; hit; ttl=-10; detail=stale-while-revalidate");
      assertThat(stale1.header("age")).isEqualTo("20");
      assertThat(stale2.bodyText()).isEqualTo("v1");
      assertThat(stale3.bodyText()).isEqualTo("v1");
      assertThat(origin.requests()).isEqualTo(2);
      assertThat(origin.last().header("if-none-match")).isEqualTo("\"v1\"");
      assertThat(fresh.header("cache-status")).isEqualTo("gatehouse; hit; ttl=10");
      assertThat(cache.stats().revalidations()).isEqualTo(1);
      assertThat(cache.stats().staleHits()).isEqualTo(3);
    }
  }

  @Test
  void backgroundRevalidationStoresNewContent() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> Reply.of(200, "v" + n.incrementAndGet(),
            "Cache-Control", "max-age=10, stale-while-revalidate=60"));
         HttpCache cache = cache().build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(15));
      RawHttp.Response stale = Proxies.get(proxy, "/a");
      Await.until("the new content is stored", () -> {
        try {
          return freshStored(proxy);
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
      RawHttp.Response fresh = Proxies.get(proxy, "/a");

      assertThat(stale.bodyText()).isEqualTo("v1");
      assertThat(fresh.bodyText()).isEqualTo("v2");
      assertThat(origin.requests()).isEqualTo(2);
    }
  }

  @Test
  void staleIfErrorServesStaleWhenTheOriginFailsWithinTheWindow() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> n.getAndIncrement() == 0
            ? Reply.of(200, "v1", "Cache-Control", "max-age=10, stale-if-error=60")
            : Reply.of(503, "down"));
         HttpCache cache = cache().build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(30));
      RawHttp.Response stale = Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(60));
      RawHttp.Response tooLate = Proxies.get(proxy, "/a");

      assertThat(stale.status).isEqualTo(200);
      assertThat(stale.bodyText()).isEqualTo("v1");
      assertThat(stale.header("cache-status")).isEqualTo("gatehouse; fwd=stale; fwd-status=503; ttl=-20; detail=stale-if-error");
      assertThat(tooLate.status).isEqualTo(503);
      assertThat(tooLate.bodyText()).isEqualTo("down");
      assertThat(origin.requests()).isEqualTo(3);
    }
  }

  @Test
  void staleIfErrorCoversAnOriginThatResetsConnections() throws Exception {
    // (the origin keeps its port: a closed port could be taken by another process on a shared machine)
    try (Origin origin = new Origin(r -> Reply.of(200, "v1", "Cache-Control", "max-age=10, stale-if-error=60"));
         HttpCache cache = cache().build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      origin.script(r -> Reply.rawThenReset(""));
      clock.advance(Duration.ofSeconds(30));
      RawHttp.Response stale = Proxies.get(proxy, "/a");

      assertThat(stale.status).isEqualTo(200);
      assertThat(stale.bodyText()).isEqualTo("v1");
      assertThat(stale.header("cache-status")).isEqualTo("gatehouse; fwd=stale; ttl=-20; detail=stale-if-error");
    }
  }

  @Test
  void useStaleSwitchServesStaleOnTheChosenConditionsOnly() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> {
          int i = n.getAndIncrement();
          return i == 0 ? Reply.of(200, "v1", "Cache-Control", "max-age=10") : Reply.of(i == 1 ? 503 : 500, "down");
        });
         HttpCache cache = cache().useStale(Duration.ofMinutes(5), UseStale.HTTP_503, UseStale.ERROR).build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(60));
      RawHttp.Response on503 = Proxies.get(proxy, "/a");
      RawHttp.Response on500 = Proxies.get(proxy, "/a");

      assertThat(on503.bodyText()).isEqualTo("v1");
      assertThat(on500.status).isEqualTo(500);
    }
  }

  @Test
  void useStaleUpdatingServesStaleWhileOneRequestRevalidates() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> Reply.of(200, "v" + n.incrementAndGet(), "Cache-Control", "max-age=10"));
         HttpCache cache = cache().useStale(Duration.ofMinutes(5), UseStale.UPDATING).build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(60));
      RawHttp.Response stale = Proxies.get(proxy, "/a");

      assertThat(stale.bodyText()).isEqualTo("v1");
      assertThat(stale.header("cache-status")).isEqualTo("gatehouse; hit; ttl=-50; detail=updating");
      Await.until("the background fetch", () -> origin.requests() == 2);
    }
  }

  @Test
  void mustRevalidateGets504WhenTheOriginCannotBeReached() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "v1", "Cache-Control", "max-age=10, must-revalidate, stale-if-error=600"));
         HttpCache cache = cache().useStale(Duration.ofMinutes(5), UseStale.ERROR).build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      origin.script(r -> Reply.rawThenReset(""));
      clock.advance(Duration.ofSeconds(30));
      RawHttp.Response r = Proxies.get(proxy, "/a");

      assertThat(r.status).isEqualTo(504);
      assertThat(r.header("cache-status")).isEqualTo("gatehouse; detail=must-revalidate");
    }
  }

  @Test
  void withoutStaleDirectivesAnOriginErrorPassesThrough() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> n.getAndIncrement() == 0
            ? Reply.of(200, "v1", "Cache-Control", "max-age=10")
            : Reply.of(503, "down"));
         HttpCache cache = cache().build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(30));
      RawHttp.Response r = Proxies.get(proxy, "/a");
      RawHttp.Response again = Proxies.get(proxy, "/a");

      assertThat(r.status).isEqualTo(503);
      assertThat(again.status).isEqualTo(503);
      assertThat(origin.requests()).isEqualTo(3); // the stale response stays, unused
    }
  }
}
