package dev.gatehouse.proxy.cache;

import static dev.gatehouse.proxy.cache.Origin.Reply;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.net.URI;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** CDN-Cache-Control (RFC 9213), purge by URI and by surrogate key, PURGE requests, custom keys. */
@Timeout(30)
class CacheTargetingAndTagsTest {

  @Test
  void cdnCacheControlTakesPrecedenceOverCacheControl() throws Exception {
    try (Origin origin = new Origin(r -> r.requestLine.contains("/store-me")
            ? Reply.of(200, "a", "Cache-Control", "no-store", "CDN-Cache-Control", "max-age=60")
            : Reply.of(200, "b", "Cache-Control", "max-age=60", "CDN-Cache-Control", "no-store"));
         HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response first = Proxies.get(proxy, "/store-me");
      RawHttp.Response hit = Proxies.get(proxy, "/store-me");
      Proxies.get(proxy, "/not-me");
      Proxies.get(proxy, "/not-me");

      assertThat(hit.header("cache-status")).startsWith("gatehouse; hit; ttl=60");
      assertThat(first.header("cdn-cache-control")).isEqualTo("max-age=60"); // forwarded as it came
      assertThat(hit.header("cache-control")).isEqualTo("no-store");
      assertThat(origin.requests()).isEqualTo(3);
    }
  }

  @Test
  void targetedFieldsAreTriedInTheConfiguredOrder() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "a", "Cache-Control", "max-age=1",
            "CDN-Cache-Control", "no-store", "Gatehouse-Cache-Control", "max-age=300"));
         HttpCache cache = HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(1)))
             .targetedFields("Gatehouse-Cache-Control", "CDN-Cache-Control").build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      RawHttp.Response hit = Proxies.get(proxy, "/a");

      assertThat(hit.header("cache-status")).startsWith("gatehouse; hit; ttl=300");
    }
  }

  @Test
  void purgeByUriAndBySurrogateKey() throws Exception {
    try (Origin origin = new Origin(r -> {
          String path = r.requestLine.split(" ")[1];
          String tags = path.startsWith("/product/42") ? "product-42 catalog" : "catalog";
          return Reply.of(200, "page " + path, "Cache-Control", "max-age=600", "Surrogate-Key", tags);
        });
         HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response first = Proxies.get(proxy, "/product/42");
      Proxies.get(proxy, "/product/42/reviews");
      Proxies.get(proxy, "/product/7");
      RawHttp.Response hit = Proxies.get(proxy, "/product/42");
      assertThat(origin.requests()).isEqualTo(3);

      long byTag = cache.purgeTag("product-42").toCompletableFuture().join();
      Proxies.get(proxy, "/product/42");
      Proxies.get(proxy, "/product/42/reviews");
      Proxies.get(proxy, "/product/7");
      assertThat(origin.requests()).isEqualTo(5);

      long byUri = cache.purge(URI.create("http://example.com/product/7")).toCompletableFuture().join();
      Proxies.get(proxy, "/product/7");
      assertThat(origin.requests()).isEqualTo(6);

      long all = cache.purgeTag("catalog").toCompletableFuture().join();

      assertThat(byTag).isEqualTo(2);
      assertThat(byUri).isEqualTo(1);
      assertThat(all).isEqualTo(3);
      assertThat(first.header("surrogate-key")).isNull();
      assertThat(hit.header("surrogate-key")).isNull();
      assertThat(cache.stats().entries()).isZero();
    }
  }

  @Test
  void purgeRequestsOnlyFromTrustedAddresses() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "x", "Cache-Control", "max-age=600", "Surrogate-Key", "t1"));
         HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
         ProxyServer proxy = TestProxy.builder().upstream(origin.url()).cache(cache)
             .addFilter(cache.purgeRequests("127.0.0.1")).build().start();
         ProxyServer untrusted = TestProxy.builder().upstream(origin.url()).cache(cache)
             .addFilter(cache.purgeRequests("10.0.0.0/8")).build().start()) {
      Proxies.get(proxy, "/a");
      Proxies.get(proxy, "/b");
      RawHttp.Response refused = Proxies.request(untrusted, "PURGE", "/a");
      RawHttp.Response purged = Proxies.request(proxy, "PURGE", "/a");
      RawHttp.Response byTag = Proxies.request(proxy, "PURGE", "/", "Surrogate-Key: t1");

      assertThat(refused.status).isEqualTo(403);
      assertThat(purged.status).isEqualTo(200);
      assertThat(purged.bodyText()).isEqualTo("purged 1\n");
      assertThat(byTag.bodyText()).isEqualTo("purged 1\n");
      assertThat(origin.received).noneMatch(r -> r.requestLine.startsWith("PURGE"));
    }
  }

  @Test
  void purgeFilterNeedsAnAddress() {
    try (HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1))) {
      assertThatThrownBy(cache::purgeRequests)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("trustedCidrs: none (expected: at least one address or CIDR block)");
    }
  }

  @Test
  void customKeyIgnoresTrackingParameters() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "x", "Cache-Control", "max-age=600"));
         HttpCache cache = HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(1)))
             .key((exchange, uri) -> uri.replaceAll("[?&]utm_[^&]*", "")).build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a?utm_source=mail");
      RawHttp.Response hit = Proxies.get(proxy, "/a?utm_source=web");
      long purged = cache.purgeKey("http://example.com/a").toCompletableFuture().join();

      assertThat(hit.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(purged).isEqualTo(1);
      assertThat(origin.requests()).isEqualTo(1);
    }
  }
}
