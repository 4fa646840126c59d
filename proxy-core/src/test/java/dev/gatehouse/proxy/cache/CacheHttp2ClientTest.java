package dev.gatehouse.proxy.cache;

import static dev.gatehouse.proxy.cache.Origin.Reply;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Hits are streamed to HTTP/2 clients as to HTTP/1.1 ones. */
@Timeout(30)
class CacheHttp2ClientTest {

  @Test
  void http2ClientGetsHitsWithTheWholeBody() throws Exception {
    String body = "h".repeat(100_000);
    try (Origin origin = new Origin(r -> Reply.of(200, body, "Cache-Control", "max-age=60"));
         HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(4));
         ProxyServer proxy = TestProxy.builder().upstream(origin.url()).cache(cache).http2(true).build().start()) {
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2)
          .connectTimeout(Duration.ofSeconds(5)).proxy(HttpClient.Builder.NO_PROXY).build();
      HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/h2"))
          .timeout(Duration.ofSeconds(10)).build();
      client.send(get, HttpResponse.BodyHandlers.ofString()); // upgrades to h2c
      HttpResponse<String> hit = client.send(get, HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> again = client.send(get, HttpResponse.BodyHandlers.ofString());

      assertThat(hit.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(hit.body()).isEqualTo(body);
      assertThat(hit.headers().firstValue("cache-status").orElse("")).startsWith("gatehouse; hit");
      assertThat(again.body()).isEqualTo(body);
      assertThat(origin.requests()).isEqualTo(1);
    }
  }
}
