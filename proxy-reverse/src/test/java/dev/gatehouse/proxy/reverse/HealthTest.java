package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyServer;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class HealthTest {
  Backends backends;
  final BlockingQueue<HealthEvent> events = new LinkedBlockingQueue<>();

  @BeforeEach
  void start() {
    backends = Backends.start(2);
    for (int i = 0; i < 2; i++) {
      healthy(i, true);
    }
  }

  @AfterEach
  void stop() {
    backends.close();
  }

  void healthy(int i, boolean up) {
    backends.get(i).stubFor(get(urlEqualTo("/health")).atPriority(1)
        .willReturn(aResponse().withStatus(up ? 200 : 503).withBody(up ? "ok" : "down")));
  }

  HealthEvent next() throws InterruptedException {
    HealthEvent e = events.poll(10, TimeUnit.SECONDS);
    assertThat(e).as("a health event within 10 s").isNotNull();
    return e;
  }

  @Test
  void activeChecksEjectAServerThatGoesDownAndRestoreItWithinTheThresholds() throws Exception {
    Duration interval = Duration.ofMillis(200);
    UpstreamGroup g = UpstreamGroup.builder().name("app").add(backends.url(0)).add(backends.url(1))
        .healthCheck(HealthCheck.http("/health").interval(interval).timeout(Duration.ofMillis(190))
            .unhealthyThreshold(2).healthyThreshold(3).build())
        .onHealthChange(events::add)
        .build();
    try (ProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().to(g)).build().start()) {
      healthy(1, false);
      long down = System.nanoTime();
      HealthEvent e = next();
      long tookDown = System.nanoTime() - down;
      assertThat(e.server()).isEqualTo(backends.url(1));
      assertThat(e.from()).isEqualTo(ServerState.AVAILABLE);
      assertThat(e.to()).isEqualTo(ServerState.UNHEALTHY);
      assertThat(e.reason()).isEqualTo("2 health check(s) failed (last: status 503)");
      // 2 failed checks: at least 1 interval apart, at most 3 intervals (+ slack) after the change
      assertThat(tookDown).isBetween(interval.toNanos() / 2, interval.toNanos() * 3 + 500_000_000L);
      assertThat(g.status().get(1).state()).isEqualTo(ServerState.UNHEALTHY);

      for (int i = 0; i < 6; i++) {
        assertThat(Backends.get(proxy.port(), "/x").body()).isEqualTo("b0");
      }

      healthy(1, true);
      long up = System.nanoTime();
      e = next();
      long tookUp = System.nanoTime() - up;
      assertThat(e.to()).isEqualTo(ServerState.AVAILABLE);
      assertThat(e.reason()).isEqualTo("3 health check(s) passed");
      assertThat(tookUp).isBetween(interval.toNanos() * 2 - 50_000_000L, interval.toNanos() * 4 + 500_000_000L);
      assertThat(g.status()).extracting(ServerStatus::state).containsOnly(ServerState.AVAILABLE);
    }
  }

  @Test
  void allServersDownGivesAQuick503WithAShortBody() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().name("app").add(backends.url(0)).add(backends.url(1))
        .healthCheck(HealthCheck.http("/health").interval(Duration.ofMillis(300)).timeout(Duration.ofMillis(250))
            .unhealthyThreshold(1).healthyThreshold(1).build())
        .onHealthChange(events::add)
        .build();
    try (ProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().to(g)).build().start()) {
      assertThat(Backends.get(proxy.port(), "/warm-up").statusCode()).isEqualTo(200);
      healthy(0, false);
      healthy(1, false);
      while (!g.status().stream().allMatch(st -> st.state() == ServerState.UNHEALTHY)) {
        next();
      }
      long start = System.nanoTime();
      HttpResponse<String> r = Backends.get(proxy.port(), "/x");
      long took = System.nanoTime() - start;
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).isEqualTo("Service Unavailable\n");
      assertThat(took).isLessThan(500_000_000L);
      assertThat(backends.get(0).findAll(com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor(urlEqualTo("/x")))).isEmpty();
      assertThat(g.status()).extracting(ServerStatus::state).containsOnly(ServerState.UNHEALTHY);
    }
  }

  @Test
  void consecutiveFailuresEjectAServerForTheBaseTimeThenItReturns() throws Exception {
    backends.get(1).stubFor(any(anyUrl()).atPriority(5).willReturn(aResponse().withStatus(500).withBody("boom")));
    UpstreamGroup g = UpstreamGroup.builder().name("app").add(backends.url(0)).add(backends.url(1))
        .loadBalancing(LoadBalancing.roundRobin())
        .outlierDetection(OutlierDetection.builder().consecutiveFailures(3)
            .baseEjectionTime(Duration.ofMillis(400)).build())
        .onHealthChange(events::add)
        .build();
    try (ProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().to(g)).build().start()) {
      int fives = 0;
      for (int i = 0; i < 6; i++) {
        if (Backends.get(proxy.port(), "/x").statusCode() == 500) {
          fives++;
        }
      }
      assertThat(fives).isEqualTo(3);
      HealthEvent e = next();
      long ejectedAt = System.nanoTime();
      assertThat(e.to()).isEqualTo(ServerState.EJECTED);
      assertThat(e.reason()).isEqualTo("ejected for PT0.4S after 3 consecutive failures (last: status 500)");
      assertThat(g.status().get(1).state()).isEqualTo(ServerState.EJECTED);
      assertThat(g.status().get(1).ejections()).isEqualTo(1);
      for (int i = 0; i < 5 && System.nanoTime() - ejectedAt < 300_000_000L; i++) {
        assertThat(Backends.get(proxy.port(), "/x").statusCode()).isEqualTo(200);
      }
      // back after the ejection time: the next requests reach it again
      HealthEvent back = null;
      while (back == null) {
        Backends.get(proxy.port(), "/x");
        back = events.poll(50, TimeUnit.MILLISECONDS);
      }
      assertThat(System.nanoTime() - ejectedAt).isGreaterThanOrEqualTo(350_000_000L);
      assertThat(back.from()).isEqualTo(ServerState.EJECTED);
      assertThat(back.to()).isEqualTo(ServerState.AVAILABLE);
    }
  }

  @Test
  void connectionFailuresEjectAServerAndTheEjectionCapLimitsHowManyAreOut() throws Exception {
    int dead1 = Backends.closedPort();
    int dead2 = Backends.closedPort();
    UpstreamGroup g = UpstreamGroup.builder().name("app")
        .add("http://127.0.0.1:" + dead1).add("http://127.0.0.1:" + dead2).add(backends.url(0)).add(backends.url(1))
        .loadBalancing(LoadBalancing.roundRobin())
        .outlierDetection(OutlierDetection.builder().consecutiveFailures(1).maxEjectionPercent(25)
            .baseEjectionTime(Duration.ofSeconds(30)).build())
        .onHealthChange(events::add)
        .build();
    try (ProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().retry(RetryPolicy.none()).to(g)).build().start()) {
      for (int i = 0; i < 12; i++) {
        Backends.get(proxy.port(), "/x");
      }
      HealthEvent e = next();
      assertThat(e.to()).isEqualTo(ServerState.EJECTED);
      assertThat(events.poll(200, TimeUnit.MILLISECONDS)).as("a second ejection over the 25% cap").isNull();
      assertThat(g.status()).filteredOn(s -> s.state() == ServerState.EJECTED).hasSize(1);
    }
  }

  @Test
  void closeStopsHealthChecksAndLeavesNoThreadBehind() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0))
        .healthCheck(HealthCheck.http("/health").interval(Duration.ofMillis(50)).timeout(Duration.ofMillis(40)).build())
        .build();
    ProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().to(g)).build().start();
    String worker = ((ReverseServer) proxy).engine().worker().getName();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (backends.get(0).findAll(com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor(urlEqualTo("/health"))).size() < 3) {
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.onSpinWait();
    }
    java.util.List<Thread> workerThreads = Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith(worker + " ")).toList();
    assertThat(workerThreads).isNotEmpty();
    proxy.close();
    int checks = backends.get(0).findAll(com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor(urlEqualTo("/health"))).size();
    // close() returns once the worker has terminated; a thread may still be on its way out of run()
    for (Thread t : workerThreads) {
      t.join(5000);
    }
    assertThat(workerThreads).noneMatch(Thread::isAlive);
    // a check already sent may still arrive; none is started after close
    assertThat(backends.get(0).findAll(com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor(urlEqualTo("/health"))).size())
        .isLessThanOrEqualTo(checks + 1);
  }

  @Test
  void aCheckPassesOnlyWithTheConfiguredMethodAndStatusRange() throws Exception {
    backends.get(0).stubFor(com.github.tomakehurst.wiremock.client.WireMock.head(urlEqualTo("/ready")).atPriority(1)
        .willReturn(aResponse().withStatus(204)));
    backends.get(1).stubFor(com.github.tomakehurst.wiremock.client.WireMock.head(urlEqualTo("/ready")).atPriority(1)
        .willReturn(aResponse().withStatus(200)));
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).add(backends.url(1))
        .healthCheck(HealthCheck.http("/ready").method("HEAD").expectStatus(204, 204)
            .interval(Duration.ofMillis(300)).timeout(Duration.ofMillis(290)).unhealthyThreshold(2).build())
        .onHealthChange(events::add).build();
    try (ProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().to(g)).build().start()) {
      HealthEvent e = next();
      assertThat(e.server()).isEqualTo(backends.url(1));
      assertThat(e.reason()).isEqualTo("2 health check(s) failed (last: status 200)");
      assertThat(Backends.get(proxy.port(), "/x").body()).isEqualTo("b0");
    }
    assertThat(backends.get(0).findAll(com.github.tomakehurst.wiremock.client.WireMock.headRequestedFor(urlEqualTo("/ready"))))
        .isNotEmpty();
  }

  @Test
  void healthCheckSettingsAreValidated() {
    assertThatThrownBy(() -> HealthCheck.http("health"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("healthCheck.path: \"health\" (expected: a path starting with /, percent-encoded)");
    assertThatThrownBy(() -> HealthCheck.http("/h").interval(Duration.ofSeconds(1)).timeout(Duration.ofSeconds(1)).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("healthCheck.timeout: PT1S (expected: < interval PT1S)");
    assertThatThrownBy(() -> HealthCheck.http("/h").expectStatus(300, 200))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("healthCheck.expectStatus: 300-200 (expected: 100 <= min <= max <= 599)");
    assertThatThrownBy(() -> OutlierDetection.builder().maxEjectionPercent(101))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("outlierDetection.maxEjectionPercent: 101 (expected: 0-100)");
    assertThatThrownBy(() -> OutlierDetection.builder().baseEjectionTime(Duration.ofMinutes(10)).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("outlierDetection.maxEjectionTime: PT5M (expected: >= baseEjectionTime PT10M)");
  }
}
