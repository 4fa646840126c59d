package dev.gatehouse.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.events.Decisions;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import dev.gatehouse.proxy.testsupport.TestProxy;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.ServerSocket;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class MetricsTest {

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static int get(ProxyServer proxy, String path) throws Exception {
    return RawHttp.exchange(proxy.port(), "GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n").status;
  }

  @Test
  void aScrapeAfterKnownTrafficCountsEachExchangeByMethodStatusAndOutcome() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("hello");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).metrics(registry).addListener(events)
             .addFilter((ex, chain) -> ex.request().path().equals("/deny")
                 ? CompletableFuture.completedStage(ProxyResponse.of(401, "no"))
                 : chain.proceed())
             .build().start()) {
      for (int i = 0; i < 3; i++) {
        assertThat(get(proxy, "/ok/" + i)).isEqualTo(200);
      }
      assertThat(get(proxy, "/deny")).isEqualTo(401);
      assertThat(RawHttp.exchange(proxy.port(), "POST /in HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd").status)
          .isEqualTo(200);
      events.awaitEnded(5);

      String text = registry.scrape();
      assertThat(text).contains(
          "gatehouse_requests_seconds_count{method=\"GET\",outcome=\"upstream\",route=\"none\",status=\"2xx\"} 3",
          "gatehouse_requests_seconds_count{method=\"GET\",outcome=\"local\",route=\"none\",status=\"4xx\"} 1",
          "gatehouse_requests_seconds_count{method=\"POST\",outcome=\"upstream\",route=\"none\",status=\"2xx\"} 1",
          "gatehouse_upstream_attempts_seconds_count{group=\"none\",outcome=\"response\",server=\"none\",status=\"2xx\"} 4",
          "gatehouse_request_body_bytes_total{route=\"none\"} 4",
          "gatehouse_response_body_bytes_total{route=\"none\"} 22",
          "gatehouse_requests_active 0");
      assertThat(text).doesNotContain("_bucket", "/ok/");
      assertThat(registry.get("gatehouse.connections").counter().count()).isEqualTo(5);
    }
  }

  @Test
  void failedAttemptsAreCountedByTheirCause() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    RecordingListener events = new RecordingListener();
    try (ProxyServer proxy = TestProxy.builder().upstream("http://127.0.0.1:" + closedPort()).metrics(registry)
        .addListener(events).build().start()) {
      assertThat(get(proxy, "/")).isEqualTo(502);
      events.awaitEnded(1);

      assertThat(registry.get("gatehouse.upstream.attempts").tags("outcome", "connect-error", "status", "none")
          .timer().count()).isEqualTo(1);
      assertThat(registry.get("gatehouse.requests").tags("outcome", "error", "status", "5xx").timer().count())
          .isEqualTo(1);
    }
  }

  @Test
  void manyDistinctPathsMakeNoNewSeries() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("x");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).metrics(registry).addListener(events)
             .build().start()) {
      assertThat(get(proxy, "/first")).isEqualTo(200);
      events.awaitEnded(1);
      int meters = registry.getMeters().size();
      for (int i = 0; i < 50; i++) {
        assertThat(get(proxy, "/p/" + i + "?q=" + i)).isEqualTo(200);
      }
      events.awaitEnded(51);

      assertThat(registry.getMeters()).hasSize(meters);
      assertThat(registry.get("gatehouse.requests").timer().count()).isEqualTo(51);
    }
  }

  @Test
  void histogramsAndExtraTagsAreOptIn() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("x");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addListener(events)
             .metrics(registry, MetricsOptions.builder().histograms(true).tag("proxy", "edge").build())
             .build().start()) {
      assertThat(get(proxy, "/")).isEqualTo(200);
      events.awaitEnded(1);

      assertThat(registry.scrape()).contains("gatehouse_requests_seconds_bucket{method=\"GET\",outcome=\"upstream\","
          + "proxy=\"edge\",route=\"none\",status=\"2xx\",le=\"+Inf\"} 1");
    }
  }

  @Test
  void filterDecisionsAreCountedUnderTheirOwnNames() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("x");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).metrics(registry).addListener(events)
             .addFilter((ex, chain) -> {
               Decisions.report(ex, Decisions.CACHE, "miss", "");
               Decisions.report(ex, Decisions.RATE_LIMIT, "allowed", "");
               Decisions.report(ex, Decisions.AUTH, "allowed", "alice");
               Decisions.report(ex, "geo", "blocked", "");
               return chain.proceed();
             })
             .build().start()) {
      assertThat(get(proxy, "/")).isEqualTo(200);
      assertThat(get(proxy, "/")).isEqualTo(200);
      events.awaitEnded(2);

      assertThat(registry.get("gatehouse.cache.requests").tag("outcome", "miss").counter().count()).isEqualTo(2);
      assertThat(registry.get("gatehouse.ratelimit.decisions").tag("outcome", "allowed").counter().count()).isEqualTo(2);
      assertThat(registry.get("gatehouse.auth.decisions").tag("outcome", "allowed").counter().count()).isEqualTo(2);
      assertThat(registry.get("gatehouse.filter.decisions").tags("kind", "geo", "outcome", "blocked").counter().count())
          .isEqualTo(2);
    }
  }

  @Test
  void closingTheProxyRemovesItsGaugesSoAnotherCanTakeTheRegistry() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ProxyServer proxy = TestProxy.builder().upstream("http://127.0.0.1:1").metrics(registry).build().start();
    assertThat(registry.find("gatehouse.requests.active").gauge()).isNotNull();

    proxy.close();

    assertThat(registry.find("gatehouse.requests.active").gauge()).isNull();
    assertThat(registry.getMeters()).extracting(Meter::getId).noneMatch(id -> id.getType() == Meter.Type.GAUGE);
  }

  @Test
  void optionsAreCheckedAtOnce() {
    assertThatThrownBy(() -> MetricsOptions.builder().tag("route", "x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tag key: \"route\" (expected: not blank, and none of route, method, status, outcome, group, "
            + "server, state, upstream, result, kind, direction, decision, reason, limit)");
    assertThatThrownBy(() -> MetricsOptions.builder().tag("a", "1").tag("a", "2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tag key: \"a\" (expected: each key once)");
    assertThatThrownBy(() -> TestProxy.builder().metrics(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("registry");
  }
}
