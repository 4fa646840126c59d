package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.putRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.http.Fault;
import dev.gatehouse.proxy.ProxyServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class RetryTest {
  Backends backends;

  @BeforeEach
  void start() {
    backends = Backends.start(2);
  }

  @AfterEach
  void stop() {
    backends.close();
  }

  /** b0 first (weight 1000 against 1), then b1. */
  UpstreamGroup firstB0() {
    return UpstreamGroup.builder().add(backends.url(0), 1000).add(backends.url(1), 1).build();
  }

  void resets(int i) {
    backends.get(i).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
  }

  ProxyServer proxy(Route route) {
    return ReverseProxy.builder().addRoute(route).build().start();
  }

  static HttpResponse<String> put(int port, String body) throws Exception {
    return Backends.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/p"))
        .PUT(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void idempotentGetIsRetriedOnceOnTheNextServerAfterAReset() throws Exception {
    resets(0);
    try (ProxyServer proxy = proxy(Route.any().to(firstB0()))) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/r");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("b1");
    }
    assertThat(backends.requests(0)).isEqualTo(1);
    assertThat(backends.requests(1)).isEqualTo(1);
  }

  @Test
  void getIsRetriedAtMostMaxRetriesTimes() throws Exception {
    resets(0);
    resets(1);
    try (ProxyServer proxy = proxy(Route.any().to(firstB0()))) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/r");
      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).isEqualTo("Bad Gateway\n");
    }
    assertThat(backends.requests(0) + backends.requests(1)).isEqualTo(2);
  }

  @Test
  void nonIdempotentPostIsNotRetriedAfterItWasSent() throws Exception {
    resets(0);
    try (ProxyServer proxy = proxy(Route.any().retry(RetryPolicy.builder().bufferBodyUpTo(65536).build()).to(firstB0()))) {
      HttpResponse<String> r = Backends.post(proxy.port(), "/order", "{\"buy\":1}");
      assertThat(r.statusCode()).isEqualTo(502);
    }
    assertThat(backends.requests(0)).isEqualTo(1);
    assertThat(backends.requests(1)).as("the second server must not see the POST").isZero();
  }

  @Test
  void postIsRetriedWhenTheConnectionWasRefusedBecauseNothingWasSent() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().add("http://127.0.0.1:" + Backends.closedPort(), 1000)
        .add(backends.url(1), 1).build();
    try (ProxyServer proxy = proxy(Route.any().to(g))) {
      HttpResponse<String> r = Backends.post(proxy.port(), "/order", "{\"buy\":1}");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("b1");
    }
    assertThat(backends.get(1).findAll(anyRequestedFor(urlEqualTo("/order"))).get(0).getBodyAsString())
        .isEqualTo("{\"buy\":1}");
  }

  @Test
  void bufferedPutBodyIsSentAgainOnRetry() throws Exception {
    resets(0);
    String body = "x".repeat(3000);
    try (ProxyServer proxy = proxy(Route.any().retry(RetryPolicy.builder().bufferBodyUpTo(4096).build()).to(firstB0()))) {
      HttpResponse<String> r = put(proxy.port(), body);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("b1");
    }
    assertThat(backends.get(1).findAll(putRequestedFor(urlEqualTo("/p"))).get(0).getBodyAsString()).isEqualTo(body);
  }

  @Test
  void putBodyLargerThanTheBufferIsNotRetriedOnceSent() throws Exception {
    resets(0);
    try (ProxyServer proxy = proxy(Route.any().retry(RetryPolicy.builder().bufferBodyUpTo(4096).build()).to(firstB0()))) {
      HttpResponse<String> r = put(proxy.port(), "y".repeat(10_000));
      assertThat(r.statusCode()).isEqualTo(502);
    }
    assertThat(backends.requests(1)).isZero();
  }

  @Test
  void configuredStatusesAreRetriedForIdempotentRequests() throws Exception {
    backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withStatus(503).withBody("busy")));
    RetryPolicy policy = RetryPolicy.builder().retryOnStatus(502, 503, 504).build();
    try (ProxyServer proxy = proxy(Route.any().retry(policy).to(firstB0()))) {
      assertThat(Backends.get(proxy.port(), "/s").body()).isEqualTo("b1");
      HttpResponse<String> post = Backends.post(proxy.port(), "/s", "z");
      assertThat(post.statusCode()).isEqualTo(503); // not idempotent: the 503 is passed on
      assertThat(post.body()).isEqualTo("busy");
    }
  }

  @Test
  void retryBudgetLimitsRetriesToItsShareOfRequests() throws Exception {
    resets(0);
    resets(1);
    RetryPolicy policy = RetryPolicy.builder().maxRetries(1).budget(0.2, 0).build();
    int n = 50;
    try (ProxyServer proxy = ReverseProxy.builder().clock(new TestClock())
        .addRoute(Route.any().retry(policy).to(UpstreamGroup.of(backends.url(0), backends.url(1)))).build().start()) {
      for (int i = 0; i < n; i++) {
        assertThat(Backends.get(proxy.port(), "/b").statusCode()).isEqualTo(502);
      }
    }
    int upstreamRequests = backends.requests(0) + backends.requests(1);
    assertThat(upstreamRequests - n).as("retries: 20% of 50 requests in one window of the clock").isEqualTo(10);
  }

  @Test
  void retryBudgetRefillsAsItsTenSecondWindowMovesOnTheProxyClock() throws Exception {
    resets(0);
    resets(1);
    TestClock clock = new TestClock();
    RetryPolicy policy = RetryPolicy.builder().maxRetries(1).budget(0, 1).build(); // 10 retries per window
    try (ProxyServer proxy = ReverseProxy.builder().clock(clock)
        .addRoute(Route.any().retry(policy).to(UpstreamGroup.of(backends.url(0), backends.url(1)))).build().start()) {
      for (int i = 0; i < 12; i++) {
        Backends.get(proxy.port(), "/b");
      }
      assertThat(backends.requests(0) + backends.requests(1)).as("12 requests, 10 retries").isEqualTo(22);
      clock.advance(Duration.ofSeconds(9));
      Backends.get(proxy.port(), "/b");
      assertThat(backends.requests(0) + backends.requests(1)).as("the window still holds the 10").isEqualTo(23);
      clock.advance(Duration.ofSeconds(1));
      Backends.get(proxy.port(), "/b");
      assertThat(backends.requests(0) + backends.requests(1)).as("the oldest second left the window").isEqualTo(25);
    }
  }

  @Test
  void perTryTimeoutMovesASlowRequestToTheNextServer() throws Exception {
    backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFixedDelay(3000).withBody("slow")));
    RetryPolicy policy = RetryPolicy.builder().tryTimeout(Duration.ofMillis(300)).build();
    try (ProxyServer proxy = proxy(Route.any().retry(policy).to(firstB0()))) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/t");
      assertThat(r.body()).as("not the slow answer b0 gives after 3 s").isEqualTo("b1");
    }
    assertThat(backends.requests(0)).isEqualTo(1);
  }

  @Test
  void routeReadTimeoutOverridesTheProxyDefault() throws Exception {
    backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFixedDelay(3000).withBody("slow")));
    try (ProxyServer proxy = proxy(Route.any().readTimeout(Duration.ofMillis(300)).retry(RetryPolicy.none())
        .to(UpstreamGroup.of(backends.url(0))))) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/t");
      assertThat(r.statusCode()).as("not the slow answer the upstream gives after 3 s").isEqualTo(504);
      assertThat(r.body()).isEqualTo("Gateway Timeout\n");
    }
  }

  @Test
  void totalTimeoutBoundsAllTries() throws Exception {
    backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFixedDelay(3000).withBody("slow")));
    backends.get(1).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFixedDelay(3000).withBody("slow")));
    RetryPolicy policy = RetryPolicy.builder().maxRetries(3).tryTimeout(Duration.ofSeconds(1)).build();
    try (ProxyServer proxy = proxy(Route.any().retry(policy).totalTimeout(Duration.ofMillis(300)).to(firstB0()))) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/t");
      assertThat(r.statusCode()).isEqualTo(504);
    }
    assertThat(backends.requests(0)).isEqualTo(1);
    assertThat(backends.requests(1)).as("no retry once the total timeout has passed (the try timeout is 1 s)").isZero();
  }

  @Test
  void aServerAtItsConcurrencyLimitAnswers503AtOnce() throws Exception {
    backends.get(0).stubFor(any(urlEqualTo("/slow")).atPriority(1).willReturn(aResponse().withFixedDelay(1500).withBody("slow")));
    UpstreamGroup g = UpstreamGroup.builder().name("one").add(backends.url(0)).maxConcurrentRequestsPerServer(1).build();
    try (ProxyServer proxy = proxy(Route.any().to(g))) {
      CompletableFuture<HttpResponse<String>> slow = slowRequestInFlight(proxy, g);
      HttpResponse<String> r = Backends.get(proxy.port(), "/fast");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(slow.get().body()).isEqualTo("slow");
      assertThat(backends.get(0).findAll(anyRequestedFor(urlEqualTo("/fast")))).isEmpty();
    }
  }

  @Test
  void pendingRequestLimitPerServerAnswers503InsteadOfQueueing() throws Exception {
    backends.get(0).stubFor(any(urlEqualTo("/slow")).atPriority(1).willReturn(aResponse().withFixedDelay(1500).withBody("slow")));
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).maxConnectionsPerServer(1)
        .maxPendingRequestsPerServer(0).build();
    try (ProxyServer proxy = proxy(Route.any().to(g))) {
      CompletableFuture<HttpResponse<String>> slow = slowRequestInFlight(proxy, g);
      HttpResponse<String> r = Backends.get(proxy.port(), "/fast");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(slow.get().statusCode()).isEqualTo(200);
      assertThat(backends.get(0).findAll(anyRequestedFor(urlEqualTo("/fast")))).isEmpty();
    }
  }

  @Test
  void routeWriteTimeoutEndsAnUploadTheUpstreamDoesNotRead() throws Exception {
    try (java.net.ServerSocket deaf = new java.net.ServerSocket(0, 10, java.net.InetAddress.getLoopbackAddress());
        ProxyServer proxy = proxy(Route.any().writeTimeout(Duration.ofMillis(300)).readTimeout(Duration.ofSeconds(20))
            .retry(RetryPolicy.none()).to(UpstreamGroup.of("http://127.0.0.1:" + deaf.getLocalPort())));
        java.net.Socket client = new java.net.Socket("127.0.0.1", proxy.port())) {
      java.net.Socket[] accepted = new java.net.Socket[1];
      Thread acceptor = new Thread(() -> {
        try {
          accepted[0] = deaf.accept(); // and never read
          accepted[0].setReceiveBufferSize(4096);
        } catch (java.io.IOException ignored) {
          // closed at the end
        }
      });
      acceptor.start();
      int size = 64 * 1024 * 1024;
      client.setSoTimeout(10_000);
      Thread uploader = new Thread(() -> {
        try {
          java.io.OutputStream out = client.getOutputStream();
          out.write(("PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + size + "\r\n\r\n")
              .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          byte[] chunk = new byte[64 * 1024];
          for (int sent = 0; sent < size; sent += chunk.length) {
            out.write(chunk);
          }
        } catch (java.io.IOException ignored) {
          // the proxy gave up on the upload
        }
      });
      uploader.start();
      java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(client.getInputStream(),
          java.nio.charset.StandardCharsets.ISO_8859_1));
      // without the write timeout the upload would stall until the 20 s read timeout, past the 10 s read
      assertThat(in.readLine()).startsWith("HTTP/1.1 504 ");
      client.close();
      uploader.join(10_000);
      acceptor.join(10_000);
      if (accepted[0] != null) {
        accepted[0].close();
      }
    }
  }

  @Test
  void routeConnectTimeoutBoundsTheWaitForAFreeConnection() throws Exception {
    backends.get(0).stubFor(any(urlEqualTo("/slow")).atPriority(1).willReturn(aResponse().withFixedDelay(2000).withBody("slow")));
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).maxConnectionsPerServer(1)
        .maxPendingRequestsPerServer(5).build();
    try (ProxyServer proxy = ReverseProxy.builder().ioThreads(1).connectTimeout(Duration.ofSeconds(30))
        .addRoute(Route.any().connectTimeout(Duration.ofMillis(300)).retry(RetryPolicy.none()).to(g)).build().start()) {
      CompletableFuture<HttpResponse<String>> slow = slowRequestInFlight(proxy, g);
      HttpResponse<String> r = Backends.get(proxy.port(), "/queued");
      // with the proxy's 30 s it would wait for the slow request's connection and get 200 after 2 s
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(slow.get().statusCode()).isEqualTo(200);
      assertThat(backends.get(0).findAll(anyRequestedFor(urlEqualTo("/queued")))).isEmpty();
    }
  }

  /** Sends {@code GET /slow} and returns once the group counts it in flight. */
  static CompletableFuture<HttpResponse<String>> slowRequestInFlight(ProxyServer proxy, UpstreamGroup g) throws Exception {
    Backends.get(proxy.port(), "/warm");
    CompletableFuture<HttpResponse<String>> slow = Backends.CLIENT.sendAsync(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/slow")).build(),
        HttpResponse.BodyHandlers.ofString());
    while (g.status().get(0).activeRequests() == 0) {
      Thread.onSpinWait();
    }
    return slow;
  }

  @Test
  void retryAndTimeoutSettingsAreValidated() {
    assertThatThrownBy(() -> RetryPolicy.builder().maxRetries(11))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("retry.maxRetries: 11 (expected: 0-10)");
    assertThatThrownBy(() -> RetryPolicy.builder().retryOnStatus(404))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("retry.retryOnStatus: 404 (expected: 500-599)");
    assertThatThrownBy(() -> RetryPolicy.builder().budget(-1, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("retry.budget ratio: -1.0 (expected: 0.0-10.0)");
    assertThatThrownBy(() -> Route.any().readTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("readTimeout: PT0S (expected: > 0)");
    assertThatThrownBy(() -> UpstreamGroup.builder().add("http://a").maxConnectionsPerServer(2).maxIdleConnectionsPerServer(3).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("maxIdleConnectionsPerServer: 3 (expected: <= maxConnectionsPerServer 2)");
  }
}
