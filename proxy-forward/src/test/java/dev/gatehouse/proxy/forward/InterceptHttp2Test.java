package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** ALPN on both legs: each side speaks what it chose with the proxy, HTTP/2 where both can. */
@Timeout(60)
class InterceptHttp2Test {

  @BeforeAll
  static void cas() throws Exception {
    InterceptTest.originCa();
  }

  @Test
  void http2FromTheClientToTheServerWhenBothOfferIt() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", true);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      HttpClient client = InterceptTest.client(proxy, HttpClient.Version.HTTP_2);
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        all.add(client.sendAsync(Fwd.get("https://origin.test:" + origin.port() + "/s" + i).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      for (int i = 0; i < 10; i++) {
        HttpResponse<String> r = all.get(i).get();
        assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("hello /s" + i + " over HTTP/2.0");
      }
      for (int i = 0; i < 10; i++) {
        TestOrigin.Received got = origin.next();
        assertThat(got.protocol()).isEqualTo("HTTP/2.0");
        assertThat(got.serverName()).isEqualTo("origin.test");
        assertThat(got.headers()).containsEntry("host", "origin.test:" + origin.port());
      }
    }
  }

  @Test
  void aPostBodyCrossesBothHttp2Legs() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", true);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      String body = "b".repeat(300_000);
      HttpResponse<String> r = InterceptTest.client(proxy, HttpClient.Version.HTTP_2).send(
          Fwd.get("https://origin.test:" + origin.port() + "/echo")
              .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());

      assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(r.body()).isEqualTo(body);
      assertThat(origin.next().method()).isEqualTo("POST");
    }
  }

  @Test
  void http2ToTheClientAndHttp11ToAServerWithoutIt() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", false);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      HttpResponse<String> r = InterceptTest.client(proxy, HttpClient.Version.HTTP_2)
          .send(Fwd.get("https://origin.test:" + origin.port() + "/mixed").build(), HttpResponse.BodyHandlers.ofString());

      assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(r.body()).isEqualTo("hello /mixed over HTTP/1.1");
    }
  }

  @Test
  void http11ToTheClientAndHttp2ToTheServer() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", true);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      HttpResponse<String> r = InterceptTest.client(proxy, HttpClient.Version.HTTP_1_1)
          .send(Fwd.get("https://origin.test:" + origin.port() + "/mixed").build(), HttpResponse.BodyHandlers.ofString());

      assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
      assertThat(r.body()).isEqualTo("hello /mixed over HTTP/2.0");
    }
  }

  @Test
  void curlNegotiatesHttp2WithTheProxy() throws Exception {
    ExternalClients.assumeCurl();
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", true);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      ExternalClients.Result r = ExternalClients.curl(proxy.port(), ExternalClients.pemFile(InterceptTest.CA.certificatePem()),
          "https://origin.test:" + origin.port() + "/h2", "--http2", "-w", "\n%{http_version}");

      assertThat(r.exit()).as(r.err()).isZero();
      assertThat(r.out()).isEqualTo("hello /h2 over HTTP/2.0\n2");
      assertThat(r.err()).contains("ALPN: server accepted h2");
    }
  }

  @Test
  void anAuthorityOtherThanTheTunnelsOnAnHttp2StreamIsMisdirected() throws Exception {
    ExternalClients.assumeCurl();
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", true);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      // curl sends the Host it is given as :authority, with SNI origin.test from the URL
      ExternalClients.Result r = ExternalClients.curl(proxy.port(), ExternalClients.pemFile(InterceptTest.CA.certificatePem()),
          "https://origin.test:" + origin.port() + "/", "--http2", "-H", "Host: victim.test:" + origin.port(),
          "-w", "\n%{http_code} %{http_version}");

      assertThat(r.exit()).as(r.err()).isZero();
      assertThat(r.out()).isEqualTo("Misdirected Request: this connection is for origin.test:" + origin.port()
          + ", not victim.test:" + origin.port() + "\n\n421 2");
      assertThat(origin.received).isEmpty();
    }
  }
}
