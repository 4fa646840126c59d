package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.http.Fault;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Engines;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Scrapes after known traffic through the reverse proxy: routes, groups, servers, retries, rejections, health. */
@Timeout(60)
class ReverseMetricsTest {
  Backends backends;
  final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  final RecordingListener events = new RecordingListener();

  @BeforeEach
  void start() {
    backends = Backends.start(2);
  }

  @AfterEach
  void stop() {
    backends.close();
  }

  private String scrape(ProxyServer proxy) {
    Engines.of(((ReverseServer) proxy).runtime()).telemetry().refreshMetrics(); // as the admin listener does before each scrape
    return registry.scrape();
  }

  @Test
  void requestsAndAttemptsAreCountedByRouteGroupAndServer() throws Exception {
    UpstreamGroup api = UpstreamGroup.builder().name("api").add(backends.url(0)).add(backends.url(1)).build();
    try (ProxyServer proxy = ReverseProxy.builder().metrics(registry).addListener(events)
        .addRoute(Route.pathPrefix("/api").name("api").to(api))
        .addRoute(Route.any().name("web").to(UpstreamGroup.builder().name("web").add(backends.url(1)).build()))
        .build().start()) {
      for (int i = 0; i < 4; i++) {
        assertThat(Backends.get(proxy.port(), "/api/" + i).statusCode()).isEqualTo(200);
      }
      for (int i = 0; i < 2; i++) {
        assertThat(Backends.get(proxy.port(), "/page/" + i).statusCode()).isEqualTo(200);
      }
      events.awaitEnded(6);

      String text = scrape(proxy);
      assertThat(text).contains(
          "gatehouse_requests_seconds_count{method=\"GET\",outcome=\"upstream\",route=\"api\",status=\"2xx\"} 4",
          "gatehouse_requests_seconds_count{method=\"GET\",outcome=\"upstream\",route=\"web\",status=\"2xx\"} 2",
          "gatehouse_upstream_attempts_seconds_count{group=\"api\",outcome=\"response\",server=\"" + backends.url(0)
              + "\",status=\"2xx\"} 2",
          "gatehouse_upstream_attempts_seconds_count{group=\"api\",outcome=\"response\",server=\"" + backends.url(1)
              + "\",status=\"2xx\"} 2",
          "gatehouse_upstream_attempts_seconds_count{group=\"web\",outcome=\"response\",server=\"" + backends.url(1)
              + "\",status=\"2xx\"} 2",
          "gatehouse_upstream_server_state{group=\"api\",server=\"" + backends.url(0) + "\",state=\"AVAILABLE\"} 1",
          "gatehouse_upstream_server_state{group=\"api\",server=\"" + backends.url(0) + "\",state=\"EJECTED\"} 0",
          "gatehouse_upstream_server_active{group=\"api\",server=\"" + backends.url(0) + "\"} 0",
          "gatehouse_upstream_server_circuit_open{group=\"web\",server=\"" + backends.url(1) + "\"} 0",
          "gatehouse_upstream_connections{state=\"idle\",upstream=\"" + backends.url(0) + "\"} ",
          "gatehouse_upstream_connections{state=\"active\",upstream=\"" + backends.url(0) + "\"} 0",
          "gatehouse_upstream_pending{upstream=\"" + backends.url(1) + "\"} 0");
    }
  }

  @Test
  void retriesRejectionsAndEjectionsAreCounted() throws Exception {
    backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
    UpstreamGroup pair = UpstreamGroup.builder().name("pair").add(backends.url(0), 1000).add(backends.url(1), 1)
        .outlierDetection(OutlierDetection.builder().consecutiveFailures(1).baseEjectionTime(Duration.ofSeconds(30))
            .build())
        .build();
    try (ProxyServer proxy = ReverseProxy.builder().metrics(registry).addListener(events)
        .addRoute(Route.any().name("all").to(pair)).build().start()) {
      assertThat(Backends.get(proxy.port(), "/r").body()).isEqualTo("b1");
      events.awaitEnded(1);

      String text = scrape(proxy);
      assertThat(text).contains(
          "gatehouse_upstream_retries_total{group=\"pair\"} 1",
          "gatehouse_upstream_ejections_total{group=\"pair\",server=\"" + backends.url(0) + "\"} 1",
          "gatehouse_upstream_attempts_seconds_count{group=\"pair\",outcome=\"reset\",server=\"" + backends.url(0)
              + "\",status=\"none\"} 1",
          "gatehouse_upstream_server_state{group=\"pair\",server=\"" + backends.url(0) + "\",state=\"EJECTED\"} 1");
    }
  }

  @Test
  void aServerAtItsLimitShowsAnOpenCircuitAndRejectionsAreCounted() throws Exception {
    backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withStatus(200).withBody("slow")
        .withFixedDelay(3000)));
    UpstreamGroup one = UpstreamGroup.builder().name("one").add(backends.url(0)).maxConcurrentRequestsPerServer(1).build();
    try (ProxyServer proxy = ReverseProxy.builder().metrics(registry).addListener(events)
        .addRoute(Route.any().name("all").to(one)).build().start()) {
      CompletableFuture<Integer> slow = CompletableFuture.supplyAsync(() -> {
        try {
          return Backends.get(proxy.port(), "/slow").statusCode();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      events.await("attemptStarted #1 one");
      assertThat(Backends.get(proxy.port(), "/second").statusCode()).isEqualTo(503);
      events.awaitEnded(1);

      String text = scrape(proxy);
      assertThat(text).contains(
          "gatehouse_upstream_rejections_total{group=\"one\",reason=\"circuit-open\"} 1",
          "gatehouse_upstream_server_circuit_open{group=\"one\",server=\"" + backends.url(0) + "\"} 1",
          "gatehouse_upstream_server_active{group=\"one\",server=\"" + backends.url(0) + "\"} 1",
          "gatehouse_requests_active 1");
      assertThat(slow.get(20, TimeUnit.SECONDS)).isEqualTo(200);
    }
  }
}
