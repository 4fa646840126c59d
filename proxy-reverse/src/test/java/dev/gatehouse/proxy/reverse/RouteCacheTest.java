package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The cache in the reverse proxy: per route, after the route's filters. */
@Timeout(30)
class RouteCacheTest {
  private RawUpstream origin;
  private final AtomicInteger requests = new AtomicInteger();

  @BeforeEach
  void start() throws IOException {
    origin = RawUpstream.start(c -> {
      RawUpstream.Request r;
      while ((r = c.readRequest()) != null) {
        String body = "n=" + requests.incrementAndGet() + " " + r.requestLine.split(" ")[1];
        c.write("HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
      }
    });
  }

  @AfterEach
  void stop() throws IOException {
    origin.close();
  }

  private static RawHttp.Response get(ProxyServer proxy, String path, String... headers) throws IOException {
    StringBuilder sb = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: shop.example\r\n");
    for (String h : headers) {
      sb.append(h).append("\r\n");
    }
    return RawHttp.exchange(proxy.port(), sb.append("\r\n").toString());
  }

  @Test
  void proxyCacheAppliesToEveryRouteButNoCacheOnes() throws IOException {
    try (HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
         ProxyServer proxy = ReverseProxy.builder()
             .cache(cache)
             .addRoute(Route.pathPrefix("/live").noCache().to(origin.url()))
             .addRoute(Route.any().to(origin.url()))
             .build().start()) {
      get(proxy, "/page");
      RawHttp.Response hit = get(proxy, "/page");
      get(proxy, "/live/score");
      RawHttp.Response live = get(proxy, "/live/score");

      assertThat(hit.bodyText()).isEqualTo("n=1 /page");
      assertThat(hit.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(live.bodyText()).isEqualTo("n=3 /live/score");
      assertThat(live.header("cache-status")).isNull();
      assertThat(origin.requests).hasSize(3);
    }
  }

  @Test
  void aRouteMayHaveItsOwnCache() throws IOException {
    try (HttpCache cache = HttpCache.builder(dev.gatehouse.proxy.cache.CacheStore.inMemory(DataSize.ofMiB(1)))
             .name("edge").build();
         ProxyServer proxy = ReverseProxy.builder()
             .addRoute(Route.pathPrefix("/static").cache(cache).to(origin.url()))
             .addRoute(Route.any().to(origin.url()))
             .build().start()) {
      get(proxy, "/static/app.js");
      RawHttp.Response hit = get(proxy, "/static/app.js");
      get(proxy, "/api");
      get(proxy, "/api");

      assertThat(hit.header("cache-status")).startsWith("edge; hit");
      assertThat(origin.requests).hasSize(3);
    }
  }

  @Test
  void routeFiltersRunBeforeTheCacheSoAHitIsOnlyServedToAllowedRequests() throws IOException {
    Filter key = (exchange, chain) -> exchange.request().headers().get("X-Key").isPresent()
        ? chain.proceed()
        : CompletableFuture.completedFuture(ProxyResponse.of(401, "key required\n"));
    Filter stamp = (exchange, chain) -> chain.proceed().thenApply(r -> {
      r.headers().set("X-Stamped", "yes");
      return r;
    });
    try (HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
         ProxyServer proxy = ReverseProxy.builder()
             .cache(cache)
             .addFilter(stamp)
             .addRoute(Route.any().addFilter(key).to(origin.url()))
             .build().start()) {
      get(proxy, "/private", "X-Key: k");
      RawHttp.Response refused = get(proxy, "/private");
      RawHttp.Response hit = get(proxy, "/private", "X-Key: k");

      assertThat(refused.status).isEqualTo(401);
      assertThat(hit.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(hit.header("x-stamped")).isEqualTo("yes");
      assertThat(origin.requests).hasSize(1);
    }
  }

  @Test
  void keysAreTheUrisClientsAskForSoRewrittenRoutesDoNotCollide() throws IOException {
    try (HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
         ProxyServer proxy = ReverseProxy.builder()
             .cache(cache)
             .addRoute(Route.pathPrefix("/a").stripPrefix().to(origin.url()))
             .addRoute(Route.pathPrefix("/b").stripPrefix().to(origin.url()))
             .build().start()) {
      RawHttp.Response a = get(proxy, "/a/x");
      RawHttp.Response b = get(proxy, "/b/x");
      RawHttp.Response a2 = get(proxy, "/a/x");
      long purged = cache.purge(java.net.URI.create("http://shop.example/b/x")).toCompletableFuture().join();

      assertThat(a.bodyText()).isEqualTo("n=1 /x");
      assertThat(b.bodyText()).isEqualTo("n=2 /x");
      assertThat(a2.bodyText()).isEqualTo("n=1 /x");
      assertThat(purged).isEqualTo(1);
    }
  }

  @Test
  void stickyCookieIsAddedOutsideTheCache() throws IOException {
    try (HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
         ProxyServer proxy = ReverseProxy.builder()
             .cache(cache)
             .addRoute(Route.any().to(UpstreamGroup.builder().add(origin.url()).stickySessions("srv").build()))
             .build().start()) {
      RawHttp.Response first = get(proxy, "/p");
      RawHttp.Response hit = get(proxy, "/p");

      assertThat(first.header("set-cookie")).startsWith("srv=");
      assertThat(first.header("cache-status")).contains("stored");
      assertThat(hit.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(hit.header("set-cookie")).isNull();
      assertThat(origin.requests).hasSize(1);
    }
  }

  @Test
  void routeCannotBothCacheAndNotCache() {
    try (HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1))) {
      assertThatThrownBy(() -> Route.any().noCache().cache(cache))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("cache: the route is already noCache() (expected: one of cache(...) or noCache())");
      assertThatThrownBy(() -> Route.any().cache(cache).noCache())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith("noCache: the route already has cache(");
    }
  }
}
