package dev.gatehouse.proxy;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(30)
class BodyTransformTest {
  @RegisterExtension
  static WireMockExtension upstream = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

  private final HttpClient client = Clients.http();

  private static ByteBuffer upper(ByteBuffer in) {
    byte[] b = new byte[in.remaining()];
    in.get(b);
    return ByteBuffer.wrap(new String(b, StandardCharsets.ISO_8859_1).toUpperCase(Locale.ROOT).getBytes(StandardCharsets.ISO_8859_1));
  }

  @Test
  void responseBodyIsTransformedAsItStreams() throws Exception {
    String body = "hello streaming world ".repeat(5000);
    upstream.stubFor(get("/text").willReturn(aResponse().withHeader("Content-Type", "text/plain").withBody(body)));
    Filter shout = (ex, chain) -> chain.proceed().thenApply(r -> r.transformBody(BodyTransformers.mapChunks(BodyTransformTest::upper)));
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(shout).build().start()) {
      HttpResponse<String> r = client.send(Clients.get(proxy, "/text"), HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(body.toUpperCase(Locale.ROOT));
    }
  }

  @Test
  void requestBodyIsTransformedOnItsWayUpstream() throws Exception {
    upstream.stubFor(post("/in").willReturn(aResponse().withStatus(204)));
    Filter shout = (ex, chain) -> {
      ex.request().transformBody(BodyTransformers.mapChunks(BodyTransformTest::upper));
      return chain.proceed();
    };
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(shout).build().start()) {
      HttpResponse<String> r = client.send(Clients.request(proxy, "/in")
          .POST(HttpRequest.BodyPublishers.ofString("quiet please")).build(), HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(204);
      upstream.verify(postRequestedFor(urlEqualTo("/in")).withRequestBody(equalTo("QUIET PLEASE")));
    }
  }

  @Test
  void aggregatedResponseGetsAnExactContentLength() throws Exception {
    upstream.stubFor(get("/json").willReturn(aResponse().withHeader("Content-Type", "application/json").withBody("{\"a\":1}")));
    Filter wrap = (ex, chain) -> chain.proceed().thenApply(r -> r.transformBody(BodyTransformers.aggregate(1024,
        whole -> ("{\"data\":" + new String(whole, StandardCharsets.UTF_8) + "}").getBytes(StandardCharsets.UTF_8))));
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(wrap).build().start()) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET /json HTTP/1.1\r\nHost: a\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("{\"data\":{\"a\":1}}");
      assertThat(r.header("content-length")).isEqualTo("16");
      assertThat(r.header("transfer-encoding")).isNull();
    }
  }

  @Test
  void aggregatedResponseOverTheLimitIs502() throws Exception {
    upstream.stubFor(get("/big").willReturn(aResponse().withBody("x".repeat(5000))));
    Filter agg = (ex, chain) -> chain.proceed().thenApply(r -> r.transformBody(BodyTransformers.aggregate(1000, b -> b)));
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(agg).build().start()) {
      HttpResponse<String> r = client.send(Clients.get(proxy, "/big"), HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).isEqualTo("Bad Gateway\n");
    }
  }

  @Test
  void aggregatedRequestOverTheLimitIs413AndNeverReachesTheUpstream() throws Exception {
    Filter agg = (ex, chain) -> {
      ex.request().transformBody(BodyTransformers.aggregate(100, b -> b));
      return chain.proceed();
    };
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(agg).build().start()) {
      HttpResponse<String> r = client.send(Clients.request(proxy, "/in")
          .POST(HttpRequest.BodyPublishers.ofString("y".repeat(1000))).build(), HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(413);
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void aggregatedRequestIsSentWithAnExactContentLength() throws Exception {
    upstream.stubFor(post("/sign").willReturn(aResponse().withStatus(200)));
    Filter sign = (ex, chain) -> {
      ex.request().transformBody(BodyTransformers.aggregate(1000,
          b -> (new String(b, StandardCharsets.UTF_8) + "|signed").getBytes(StandardCharsets.UTF_8)));
      return chain.proceed();
    };
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(sign).build().start()) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(),
          "POST /sign HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ndata\r\n0\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
      upstream.verify(postRequestedFor(urlEqualTo("/sign"))
          .withHeader("Content-Length", equalTo("11"))
          .withoutHeader("Transfer-Encoding")
          .withRequestBody(equalTo("data|signed")));
    }
  }

  @Test
  void shortCircuitResponsesCanBeTransformedToo() throws Exception {
    Filter inner = (ex, chain) -> java.util.concurrent.CompletableFuture.completedStage(ProxyResponse.of(200, "local"));
    Filter outer = (ex, chain) -> chain.proceed().thenApply(r -> r.transformBody(BodyTransformers.mapChunks(BodyTransformTest::upper)));
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(outer).addFilter(inner).build().start()) {
      HttpResponse<String> r = client.send(Clients.get(proxy, "/x"), HttpResponse.BodyHandlers.ofString());

      assertThat(r.body()).isEqualTo("LOCAL");
      assertThat(r.headers().firstValue("Content-Length")).hasValue("5");
    }
  }
}
