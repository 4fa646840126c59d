package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import dev.gatehouse.proxy.testsupport.TestProxy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class AdminListenerTest {

  static HttpResponse<String> admin(ProxyServer proxy, String path) throws Exception {
    return admin(proxy.adminAddress().orElseThrow(), "GET", path);
  }

  static HttpResponse<String> admin(InetSocketAddress a, String method, String path) throws Exception {
    return Clients.http().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.getPort() + path))
        .timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void healthReadinessAndStatusAnswerOnTheirOwnLoopbackPort() throws Exception {
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).adminPort(0).addListener(events).build().start()) {
      InetSocketAddress a = proxy.adminAddress().orElseThrow();
      assertThat(a.getAddress().isLoopbackAddress()).isTrue();
      assertThat(a.getPort()).isNotEqualTo(proxy.port());
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(200);
      events.awaitEnded(1);
      events.await("connectionClosed");

      HttpResponse<String> health = admin(proxy, "/healthz");
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(health.body()).isEqualTo("ok\n");
      assertThat(health.headers().firstValue("Cache-Control")).hasValue("no-store");
      assertThat(admin(proxy, "/readyz").body()).isEqualTo("ready\n");
      HttpResponse<String> status = admin(proxy, "/status");
      assertThat(status.statusCode()).isEqualTo(200);
      assertThat(status.headers().firstValue("Content-Type")).hasValue("application/json");
      assertThat(status.body()).startsWith("{\"kind\":\"test\",\"version\":\"")
          .contains("\"state\":\"READY\"", "\"address\":\"127.0.0.1:" + proxy.port() + "\"",
              "\"activeExchanges\":0", "\"activeConnections\":0", "\"routes\":[]", "\"groups\":[]",
              "{\"upstream\":\"" + up.url() + "\",\"openConnections\":1,\"idleConnections\":1,\"pendingRequests\":0,"
                  + "\"http2\":false}");
      assertThat(admin(proxy, "/nothing").statusCode()).isEqualTo(404);
      HttpResponse<String> post = admin(a, "POST", "/status");
      assertThat(post.statusCode()).isEqualTo(405);
      assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
      assertThat(admin(a, "HEAD", "/readyz").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void readinessTurnsFalseTheMomentCloseBeginsWhileInFlightExchangesFinish() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          release.await(20, TimeUnit.SECONDS);
          c.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
        })) {
      ProxyServer proxy = TestProxy.builder().upstream(up.url()).adminPort(0)
          .shutdownGracePeriod(Duration.ofSeconds(20)).build().start();
      InetSocketAddress adminAddress = proxy.adminAddress().orElseThrow();
      int port = proxy.port();
      CompletableFuture<RawHttp.Response> inFlight = CompletableFuture.supplyAsync(() -> {
        try {
          return RawHttp.exchange(port, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      up.nextRequest();
      assertThat(admin(adminAddress, "GET", "/readyz").statusCode()).isEqualTo(200);

      CompletableFuture<Void> closing = CompletableFuture.runAsync(proxy::close);
      HttpResponse<String> ready = admin(adminAddress, "GET", "/readyz");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (ready.statusCode() == 200 && System.nanoTime() < deadline) {
        ready = admin(adminAddress, "GET", "/readyz");
      }
      assertThat(ready.statusCode()).isEqualTo(503);
      assertThat(ready.body()).isEqualTo("not ready: draining (close() has begun)\n");
      assertThat(proxy.status().state()).isEqualTo(ProxyStatus.State.DRAINING);
      assertThat(admin(adminAddress, "GET", "/status").body()).contains("\"state\":\"DRAINING\"",
          "\"activeExchanges\":1");
      assertThat(closing).isNotDone();

      release.countDown();
      assertThat(inFlight.get(20, TimeUnit.SECONDS).bodyText()).isEqualTo("done");
      closing.get(20, TimeUnit.SECONDS);
      assertThat(proxy.status().state()).isEqualTo(ProxyStatus.State.CLOSED);
      assertThat(proxy.adminAddress()).isEmpty();
      assertThatThrownBy(() -> admin(adminAddress, "GET", "/healthz")).isInstanceOf(ConnectException.class);
    }
  }

  @Test
  void metricsAreServedInPrometheusTextOnlyFromAPrometheusRegistry() throws Exception {
    RecordingListener events = new RecordingListener();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).adminPort(0).metrics(registry).addListener(events)
             .build().start()) {
      for (int i = 0; i < 3; i++) {
        assertThat(RawHttp.exchange(proxy.port(), "GET /" + i + " HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(200);
      }
      events.awaitEnded(3);

      HttpResponse<String> metrics = admin(proxy, "/metrics");
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
      assertThat(metrics.body()).contains(
          "gatehouse_requests_seconds_count{method=\"GET\",outcome=\"upstream\",route=\"none\",status=\"2xx\"} 3",
          "gatehouse_upstream_connections{state=\"active\",upstream=\"" + up.url() + "\"} 0");
    }
    try (ProxyServer off = TestProxy.builder().upstream("http://127.0.0.1:1").adminPort(0).build().start();
         ProxyServer simple = TestProxy.builder().upstream("http://127.0.0.1:1").adminPort(0)
             .metrics(new SimpleMeterRegistry()).build().start()) {
      HttpResponse<String> none = admin(off, "/metrics");
      assertThat(none.statusCode()).isEqualTo(404);
      assertThat(none.body()).isEqualTo("metrics are off: build the proxy with metrics(new PrometheusMeterRegistry("
          + "PrometheusConfig.DEFAULT)) (io.micrometer:micrometer-registry-prometheus)\n");
      HttpResponse<String> other = admin(simple, "/metrics");
      assertThat(other.statusCode()).isEqualTo(404);
      assertThat(other.body()).isEqualTo("the metrics registry is a SimpleMeterRegistry, not a "
          + "PrometheusMeterRegistry: /metrics serves Prometheus text only\n");
    }
  }

  @Test
  void theStatusSnapshotFollowsTheLifeCycleAndTheClock() throws Exception {
    AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2030-01-01T00:00:00Z"));
    ProxyServer proxy = TestProxy.builder().upstream("http://127.0.0.1:1").clock(now::get).build();
    ProxyStatus before = proxy.status();
    assertThat(before.state()).isEqualTo(ProxyStatus.State.NEW);
    assertThat(before.startedAt()).isEmpty();
    assertThat(before.address()).isEmpty();
    assertThat(before.uptime()).isEqualTo(Duration.ZERO);
    assertThat(proxy.adminAddress()).isEmpty();

    proxy.start();
    now.set(now.get().plusSeconds(90));
    ProxyStatus running = proxy.status();
    assertThat(running.state()).isEqualTo(ProxyStatus.State.READY);
    assertThat(running.kind()).isEqualTo("test");
    assertThat(running.version()).isNotBlank();
    assertThat(running.startedAt()).hasValue(Instant.parse("2030-01-01T00:00:00Z"));
    assertThat(running.uptime()).isEqualTo(Duration.ofSeconds(90));
    assertThat(running.address()).hasValue(proxy.address());
    assertThat(running.activeConnections()).isEmpty(); // not counted: nobody listens

    proxy.close();
    assertThat(proxy.status().state()).isEqualTo(ProxyStatus.State.CLOSED);
  }

  @Test
  void theAdminPortIsCheckedAndNeverTheProxysPort() throws Exception {
    assertThatThrownBy(() -> TestProxy.builder().adminPort(-1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adminPort: -1 (expected: 0-65535)");
    assertThatThrownBy(() -> TestProxy.builder().adminPort(65536)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adminPort: 65536 (expected: 0-65535)");
    assertThatThrownBy(() -> TestProxy.builder().adminHost(" ")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adminHost: \" \" (expected: a host name or IP address)");
    assertThatThrownBy(() -> TestProxy.builder().upstream("http://127.0.0.1:1").port(18555).adminPort(18555).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("adminPort: 18555 (expected: a port other than the proxy's port 18555)");
  }

  @Test
  void anAdminPortInUseFailsStartAndLeavesNothingRunning() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      ProxyServer proxy = TestProxy.builder().upstream("http://127.0.0.1:1").adminPort(taken.getLocalPort()).build();

      assertThatThrownBy(proxy::start).isInstanceOf(ProxyStartException.class)
          .hasMessage("failed to bind the admin listener 127.0.0.1:" + taken.getLocalPort());
      assertThat(proxy.isRunning()).isFalse();
      assertThat(proxy.status().state()).isEqualTo(ProxyStatus.State.CLOSED);
    }
  }
}
