package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.cache.HttpCache;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Requests decrypted from an intercepted HTTPS tunnel go through the forward proxy's cache, as plain HTTP does. */
@Timeout(60)
class InterceptCacheTest {
  static TestOrigin.Ca originCa;

  @BeforeAll
  static void originCa() throws Exception {
    originCa = new TestOrigin.Ca("Origin test CA");
  }

  @Test
  void aDecryptedRequestIsAnsweredFromTheCacheKeyedByItsHttpsUri() throws Exception {
    try (TestOrigin origin = new TestOrigin(originCa, "origin.test", false);
         HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
         ProxyServer proxy = InterceptTest.proxy(origin, TlsInterception.builder(InterceptTest.CA)
             .addUpstreamTrustPem(originCa.pem)).cache(cache).build().start()) {
      HttpClient client = InterceptTest.client(proxy, HttpClient.Version.HTTP_1_1);
      String url = "https://origin.test:" + origin.port() + "/cacheable/a";

      HttpResponse<String> first = client.send(Fwd.get(url).build(), HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> hit = client.send(Fwd.get(url).build(), HttpResponse.BodyHandlers.ofString());

      assertThat(first.statusCode()).isEqualTo(200);
      assertThat(first.body()).isEqualTo("hello /cacheable/a over HTTP/1.1");
      assertThat(first.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).contains("miss"));
      assertThat(hit.body()).isEqualTo("hello /cacheable/a over HTTP/1.1");
      assertThat(hit.headers().firstValue("cache-status")).hasValueSatisfying(v -> assertThat(v).startsWith("gatehouse; hit"));
      assertThat(origin.next().path()).isEqualTo("/cacheable/a");
      assertThat(origin.received).isEmpty(); // the hit never reached the origin

      // an uncacheable answer goes to the origin each time
      String plain = "https://origin.test:" + origin.port() + "/plain";
      client.send(Fwd.get(plain).build(), HttpResponse.BodyHandlers.ofString());
      client.send(Fwd.get(plain).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(origin.next().path()).isEqualTo("/plain");
      assertThat(origin.next().path()).isEqualTo("/plain");

      // stored under the https URI of the tunnel's target
      assertThat(cache.purge(URI.create(url)).toCompletableFuture().join()).isEqualTo(1);
      HttpResponse<String> again = client.send(Fwd.get(url).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(again.body()).isEqualTo("hello /cacheable/a over HTTP/1.1");
      assertThat(origin.next().path()).isEqualTo("/cacheable/a");
    }
  }
}
