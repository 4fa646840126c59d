package dev.gatehouse.proxy.cache;

import static dev.gatehouse.proxy.cache.Origin.Reply;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Validation (RFC 9111 §4.3), request directives (§5.2.1), Vary (§4.1), invalidation (§4.4). */
@Timeout(30)
class CacheValidationTest {
  private final TestClock clock = new TestClock();

  private HttpCache cache() {
    return HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(16))).clock(clock).build();
  }

  @Test
  void staleResponseIsRevalidatedAndA304RefreshesItsFields() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> {
          if (n.getAndIncrement() == 0) {
            return Reply.of(200, "body", "Cache-Control", "max-age=10", "ETag", "\"v1\"", "X-Version", "1",
                "Last-Modified", "Sat, 01 Jun 2024 10:00:00 GMT");
          }
          return Reply.of(304, "", "Cache-Control", "max-age=100", "ETag", "\"v1\"", "X-Version", "2",
              "Date", clock.httpDate());
        });
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(30));
      RawHttp.Response revalidated = Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(50));
      RawHttp.Response hit = Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(2);
      assertThat(origin.last().header("if-none-match")).isEqualTo("\"v1\"");
      assertThat(origin.last().header("if-modified-since")).isEqualTo("Sat, 01 Jun 2024 10:00:00 GMT");
      assertThat(revalidated.status).isEqualTo(200);
      assertThat(revalidated.bodyText()).isEqualTo("body");
      assertThat(revalidated.header("x-version")).isEqualTo("2");
      assertThat(revalidated.header("cache-status")).isEqualTo("gatehouse; fwd=stale; fwd-status=304; ttl=100");
      assertThat(hit.header("cache-status")).isEqualTo("gatehouse; hit; ttl=50");
      assertThat(hit.header("age")).isEqualTo("50");
      assertThat(hit.header("x-version")).isEqualTo("2");
      assertThat(hit.bodyText()).isEqualTo("body");
      assertThat(cache.stats().revalidations()).isEqualTo(1);
    }
  }

  @Test
  void revalidationAnsweredWithNewContentReplacesTheStoredResponse() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> Reply.of(200, "v" + n.incrementAndGet(), "Cache-Control", "max-age=10",
            "ETag", "\"v" + n.get() + "\""));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(11));
      RawHttp.Response changed = Proxies.get(proxy, "/a");
      RawHttp.Response hit = Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(2);
      assertThat(changed.bodyText()).isEqualTo("v2");
      assertThat(hit.bodyText()).isEqualTo("v2");
      assertThat(hit.header("etag")).isEqualTo("\"v2\"");
      assertThat(cache.stats().entries()).isEqualTo(1);
    }
  }

  @Test
  void clientConditionalOnAStaleEntryIsValidatedWithTheCachesValidatorsAndAnsweredLocally() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> n.getAndIncrement() == 0
            ? Reply.of(200, "body", "Cache-Control", "max-age=10", "ETag", "\"v1\"")
            : Reply.of(304, "", "Cache-Control", "max-age=10", "ETag", "\"v1\""));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(20));
      RawHttp.Response r = Proxies.get(proxy, "/a", "If-None-Match: \"v1\"");

      assertThat(r.status).isEqualTo(304);
      assertThat(origin.requests()).isEqualTo(2);
      assertThat(origin.last().header("if-none-match")).isEqualTo("\"v1\"");
    }
  }

  @Test
  void requestNoCacheAndMaxAgeZeroForceValidation() throws Exception {
    try (Origin origin = new Origin(r -> r.header("if-none-match") != null
            ? Reply.of(304, "", "ETag", "\"v1\"", "Cache-Control", "max-age=60")
            : Reply.of(200, "body", "Cache-Control", "max-age=60", "ETag", "\"v1\""));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(1)); // max-age=0 asks for an age of 0
      RawHttp.Response noCache = Proxies.get(proxy, "/a", "Cache-Control: no-cache");
      clock.advance(Duration.ofSeconds(1));
      RawHttp.Response pragma = Proxies.get(proxy, "/a", "Pragma: no-cache");
      clock.advance(Duration.ofSeconds(1)); // each validation made the stored response new again
      RawHttp.Response maxAge0 = Proxies.get(proxy, "/a", "Cache-Control: max-age=0");
      RawHttp.Response plain = Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(4);
      assertThat(noCache.header("cache-status")).isEqualTo("gatehouse; fwd=request; fwd-status=304; ttl=60");
      assertThat(origin.received.get(1).header("if-none-match")).isEqualTo("\"v1\"");
      assertThat(pragma.bodyText()).isEqualTo("body");
      assertThat(maxAge0.status).isEqualTo(200);
      assertThat(plain.header("cache-status")).startsWith("gatehouse; hit");
    }
  }

  @Test
  void maxAgeMinFreshAndMaxStaleRequestDirectives() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "body", "Cache-Control", "max-age=60"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(30));
      RawHttp.Response young = Proxies.get(proxy, "/a", "Cache-Control: max-age=40");
      RawHttp.Response minFreshOk = Proxies.get(proxy, "/a", "Cache-Control: min-fresh=20");
      assertThat(origin.requests()).isEqualTo(1);
      RawHttp.Response tooOld = Proxies.get(proxy, "/a", "Cache-Control: max-age=20");
      assertThat(origin.requests()).isEqualTo(2);
      clock.advance(Duration.ofSeconds(70)); // stale by 10 s now
      RawHttp.Response maxStale = Proxies.get(proxy, "/a", "Cache-Control: max-stale=30");
      RawHttp.Response anyStale = Proxies.get(proxy, "/a", "Cache-Control: max-stale");

      assertThat(young.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(minFreshOk.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(tooOld.header("cache-status")).startsWith("gatehouse; fwd=request");
      assertThat(origin.requests()).isEqualTo(2);
      assertThat(maxStale.header("cache-status")).isEqualTo("gatehouse; hit; ttl=-10; detail=max-stale");
      assertThat(anyStale.status).isEqualTo(200);
      assertThat(cache.stats().staleHits()).isEqualTo(2);
    }
  }

  @Test
  void mustRevalidateIsNeverServedStaleEvenWhenTheClientAllowsIt() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "body", "Cache-Control", "max-age=10, must-revalidate"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(20));
      Proxies.get(proxy, "/a", "Cache-Control: max-stale=100");

      assertThat(origin.requests()).isEqualTo(2);
    }
  }

  @Test
  void noCacheResponseIsStoredButValidatedBeforeEveryUse() throws Exception {
    try (Origin origin = new Origin(r -> r.header("if-none-match") != null
            ? Reply.of(304, "", "ETag", "\"v1\"")
            : Reply.of(200, "body", "Cache-Control", "no-cache", "ETag", "\"v1\""));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      RawHttp.Response second = Proxies.get(proxy, "/a");
      RawHttp.Response third = Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(3);
      assertThat(second.bodyText()).isEqualTo("body");
      assertThat(third.header("cache-status")).startsWith("gatehouse; fwd=stale; fwd-status=304");
    }
  }

  @Test
  void qualifiedNoCacheFieldIsNotServedFromTheCache() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "body", "Cache-Control", "max-age=60, no-cache=\"X-Token\"",
            "X-Token", "secret-of-the-first-client"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response first = Proxies.get(proxy, "/a");
      RawHttp.Response hit = Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(1);
      assertThat(first.header("x-token")).isEqualTo("secret-of-the-first-client");
      assertThat(hit.header("x-token")).isNull();
    }
  }

  @Test
  void onlyIfCachedGets504WhenNothingIsStored() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "body", "Cache-Control", "max-age=60"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response missing = Proxies.get(proxy, "/a", "Cache-Control: only-if-cached");
      Proxies.get(proxy, "/a");
      RawHttp.Response stored = Proxies.get(proxy, "/a", "Cache-Control: only-if-cached");
      clock.advance(Duration.ofSeconds(120));
      RawHttp.Response stale = Proxies.get(proxy, "/a", "Cache-Control: only-if-cached");

      assertThat(missing.status).isEqualTo(504);
      assertThat(missing.header("cache-status")).isEqualTo("gatehouse; detail=only-if-cached");
      assertThat(stored.status).isEqualTo(200);
      assertThat(stale.status).isEqualTo(504);
      assertThat(origin.requests()).isEqualTo(1);
    }
  }

  @Test
  void varyKeepsOneVariantPerSelectingFieldValue() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "lang=" + r.header("accept-language"),
            "Cache-Control", "max-age=60", "Vary", "Accept-Language"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response en = Proxies.get(proxy, "/a", "Accept-Language: en");
      RawHttp.Response fr = Proxies.get(proxy, "/a", "Accept-Language: fr");
      RawHttp.Response en2 = Proxies.get(proxy, "/a", "Accept-Language:   en");
      RawHttp.Response fr2 = Proxies.get(proxy, "/a", "Accept-Language: fr");
      RawHttp.Response none = Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(3);
      assertThat(en.bodyText()).isEqualTo("lang=en");
      assertThat(fr.header("cache-status")).startsWith("gatehouse; fwd=vary-miss");
      assertThat(en2.bodyText()).isEqualTo("lang=en");
      assertThat(en2.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(fr2.bodyText()).isEqualTo("lang=fr");
      assertThat(none.bodyText()).isEqualTo("lang=null");
      assertThat(cache.stats().entries()).isEqualTo(3);
    }
  }

  @Test
  void varyStarIsNeverStored() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "body", "Cache-Control", "max-age=60", "Vary", "*"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(2);
    }
  }

  @Test
  void unsafeMethodInvalidatesTheUriAndSameOriginLocations() throws Exception {
    try (Origin origin = new Origin(r -> r.requestLine.startsWith("POST")
            ? Reply.of(201, "", "Location", "/b", "Content-Location", "http://other.example/c")
            : Reply.of(200, "body", "Cache-Control", "max-age=60"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      Proxies.get(proxy, "/b");
      RawHttp.Response post = Proxies.request(proxy, "POST", "/a", "Content-Length: 0");
      Proxies.get(proxy, "/a");
      Proxies.get(proxy, "/b");

      assertThat(post.status).isEqualTo(201);
      assertThat(post.header("cache-status")).isEqualTo("gatehouse; fwd=bypass; fwd-status=201");
      assertThat(origin.requests()).isEqualTo(5);
    }
  }

  @Test
  void failedUnsafeRequestInvalidatesNothing() throws Exception {
    try (Origin origin = new Origin(r -> r.requestLine.startsWith("DELETE")
            ? Reply.of(500, "no")
            : Reply.of(200, "body", "Cache-Control", "max-age=60"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      Proxies.request(proxy, "DELETE", "/a");
      Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(2);
    }
  }

  @Test
  void immutableResponseAnswersAReloadWhileFresh() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "app.3f2a.js", "Cache-Control", "max-age=600, immutable"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/app.js");
      clock.advance(Duration.ofSeconds(30));
      RawHttp.Response reload = Proxies.get(proxy, "/app.js", "Cache-Control: max-age=0");
      RawHttp.Response forced = Proxies.get(proxy, "/app.js", "Cache-Control: no-cache");

      assertThat(reload.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(forced.header("cache-status")).startsWith("gatehouse; fwd=request"); // no-cache is a must
      assertThat(origin.requests()).isEqualTo(2);
    }
  }

  @Test
  void proxyRevalidateAndSMaxAgeAreNeverServedStale() throws Exception {
    try (Origin origin = new Origin(r -> r.requestLine.contains("/p")
            ? Reply.of(200, "p", "Cache-Control", "max-age=10, proxy-revalidate, stale-while-revalidate=100")
            : Reply.of(200, "s", "Cache-Control", "s-maxage=10, stale-while-revalidate=100"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/p");
      Proxies.get(proxy, "/s");
      clock.advance(Duration.ofSeconds(20));
      RawHttp.Response p = Proxies.get(proxy, "/p", "Cache-Control: max-stale");
      RawHttp.Response sm = Proxies.get(proxy, "/s");

      assertThat(p.header("cache-status")).startsWith("gatehouse; fwd=stale");
      assertThat(sm.header("cache-status")).startsWith("gatehouse; fwd=stale");
      assertThat(origin.requests()).isEqualTo(4);
    }
  }

  @Test
  void heuristicFreshnessFromLastModified() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "doc", "Date", clock.httpDate(),
            "Last-Modified", "Sat, 01 Jun 2024 02:00:00 GMT")); // 10 hours before: 1 hour of freshness
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response first = Proxies.get(proxy, "/doc");
      clock.advance(Duration.ofMinutes(59));
      RawHttp.Response hit = Proxies.get(proxy, "/doc");
      clock.advance(Duration.ofMinutes(2));
      RawHttp.Response stale = Proxies.get(proxy, "/doc");

      assertThat(first.header("cache-status")).endsWith("stored; ttl=3600");
      assertThat(hit.header("cache-status")).isEqualTo("gatehouse; hit; ttl=60");
      assertThat(stale.header("cache-status")).startsWith("gatehouse; fwd=stale");
      assertThat(origin.last().header("if-modified-since")).isEqualTo("Sat, 01 Jun 2024 02:00:00 GMT");
    }
  }

  @Test
  void ageIncludesTheUpstreamsAgeAndTheTimeStored() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "x", "Cache-Control", "max-age=100", "Age", "30",
            "Date", clock.httpDate()));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response first = Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(20));
      RawHttp.Response hit = Proxies.get(proxy, "/a");

      assertThat(first.header("age")).isEqualTo("30"); // passed on as received
      assertThat(first.header("cache-status")).endsWith("ttl=70");
      assertThat(hit.header("age")).isEqualTo("50");
      assertThat(hit.header("cache-status")).isEqualTo("gatehouse; hit; ttl=50");
    }
  }

  @Test
  void aRequestThatAsksForNoStoreNeitherStoresNorDropsWhatIsStored() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (Origin origin = new Origin(r -> Reply.of(200, "v" + n.incrementAndGet(), "Cache-Control", "max-age=10"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response fresh = Proxies.get(proxy, "/a", "Cache-Control: no-store");
      assertThat(cache.stats().entries()).isZero();
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(20));
      RawHttp.Response noStore = Proxies.get(proxy, "/a", "Cache-Control: no-store");
      RawHttp.Response stale = Proxies.get(proxy, "/a", "Cache-Control: max-stale");

      assertThat(fresh.bodyText()).isEqualTo("v1");
      assertThat(noStore.bodyText()).isEqualTo("v3");
      assertThat(stale.bodyText()).isEqualTo("v2"); // the stored one is still there, not replaced by v3
      assertThat(origin.requests()).isEqualTo(3);
    }
  }
}
