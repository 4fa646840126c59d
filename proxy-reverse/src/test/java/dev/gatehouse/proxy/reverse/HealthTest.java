package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.head;
import static com.github.tomakehurst.wiremock.client.WireMock.headRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Engines;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Active health checks and outlier ejection, timed by the proxy's clock: the test moves a {@link
 * TestClock} and runs the health-check round that is then due, so no outcome waits on wall-clock time.
 * Health events are fired before a round (or the request that caused them) completes, so the queue is
 * read without waiting.
 */
@Timeout(60)
class HealthTest {
  static final Duration INTERVAL = Duration.ofSeconds(5);
  final TestClock clock = new TestClock();
  final BlockingQueue<HealthEvent> events = new LinkedBlockingQueue<>();
  Backends backends;

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

  int checks(int i) {
    return backends.get(i).findAll(getRequestedFor(urlEqualTo("/health"))).size();
  }

  ProxyServer proxy(UpstreamGroup g, RetryPolicy retry) {
    return ReverseProxy.builder().clock(clock).addRoute(Route.any().retry(retry).to(g)).build().start();
  }

  ProxyServer proxy(UpstreamGroup g) {
    return proxy(g, RetryPolicy.defaults());
  }

  static HealthCheck.Builder check() {
    return HealthCheck.http("/health").interval(INTERVAL).timeout(Duration.ofSeconds(2));
  }

  /** The round due at start (all servers are probed once as the proxy starts). */
  static void firstRound(UpstreamGroup g) throws Exception {
    g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
  }

  /** Moves the clock one interval on and waits for the round that is then due. */
  void nextRound(UpstreamGroup g) throws Exception {
    clock.advance(INTERVAL);
    g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
  }

  List<HealthEvent> drained() {
    List<HealthEvent> out = new ArrayList<>();
    events.drainTo(out);
    return out;
  }

  @Test
  void activeChecksMarkAServerUnhealthyAfterTheUnhealthyThresholdAndBringItBackAfterTheHealthyThreshold()
      throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().name("app").add(backends.url(0)).add(backends.url(1))
        .healthCheck(check().unhealthyThreshold(2).healthyThreshold(3).build())
        .onHealthChange(events::add)
        .build();
    try (ProxyServer proxy = proxy(g)) {
      firstRound(g);
      healthy(1, false);
      nextRound(g);
      assertThat(drained()).as("one failed check of two").isEmpty();
      assertThat(g.status().get(1).state()).isEqualTo(ServerState.AVAILABLE);
      nextRound(g);
      List<HealthEvent> down = drained();
      assertThat(down).containsExactly(new HealthEvent("app", backends.url(1), ServerState.AVAILABLE,
          ServerState.UNHEALTHY, "2 health check(s) failed (last: status 503)"));
      assertThat(g.status().get(1).state()).isEqualTo(ServerState.UNHEALTHY);

      for (int i = 0; i < 6; i++) {
        assertThat(Backends.get(proxy.port(), "/x").body()).isEqualTo("b0");
      }

      healthy(1, true);
      nextRound(g);
      nextRound(g);
      assertThat(drained()).as("two passed checks of three").isEmpty();
      assertThat(g.status().get(1).state()).isEqualTo(ServerState.UNHEALTHY);
      nextRound(g);
      assertThat(drained()).containsExactly(new HealthEvent("app", backends.url(1), ServerState.UNHEALTHY,
          ServerState.AVAILABLE, "3 health check(s) passed"));
      assertThat(g.status()).extracting(ServerStatus::state).containsOnly(ServerState.AVAILABLE);
      for (int i = 0; i < 2; i++) {
        assertThat(Backends.get(proxy.port(), "/x").statusCode()).isEqualTo(200);
      }
    }
    assertThat(backends.get(1).findAll(getRequestedFor(urlEqualTo("/x")))).hasSize(1);
    assertThat(checks(0)).isEqualTo(6);
    assertThat(checks(1)).isEqualTo(6);
  }

  @Test
  void roundsAreDueByTheProxyClockSoNoneRunsUntilItHasMovedAnInterval() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).add(backends.url(1))
        .healthCheck(check().build()).build();
    try (ProxyServer proxy = proxy(g)) {
      firstRound(g);
      assertThat(checks(0)).isEqualTo(1);
      g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
      clock.advance(INTERVAL.minusMillis(1));
      g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
      assertThat(checks(0)).as("no round is due before an interval on the clock").isEqualTo(1);
      clock.advance(Duration.ofMillis(1));
      g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
      assertThat(checks(0)).isEqualTo(2);
      clock.advance(INTERVAL.multipliedBy(10));
      g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
      assertThat(checks(0)).as("a clock far ahead gives one round, not one per interval missed").isEqualTo(3);
    }
    assertThat(checks(1)).isEqualTo(3);
  }

  @Test
  void allServersUnhealthyGiveA503AtOnceWithoutContactingThem() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().name("app").add(backends.url(0)).add(backends.url(1))
        .healthCheck(check().unhealthyThreshold(1).healthyThreshold(1).build())
        .onHealthChange(events::add)
        .build();
    try (ProxyServer proxy = proxy(g)) {
      firstRound(g);
      assertThat(Backends.get(proxy.port(), "/warm-up").statusCode()).isEqualTo(200);
      healthy(0, false);
      healthy(1, false);
      nextRound(g);
      assertThat(drained()).extracting(HealthEvent::to).containsExactly(ServerState.UNHEALTHY, ServerState.UNHEALTHY);
      HttpResponse<String> r = Backends.get(proxy.port(), "/x");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).isEqualTo("Service Unavailable\n");
      assertThat(g.status()).extracting(ServerStatus::state).containsOnly(ServerState.UNHEALTHY);
    }
    assertThat(backends.get(0).findAll(getRequestedFor(urlEqualTo("/x")))).isEmpty();
    assertThat(backends.get(1).findAll(getRequestedFor(urlEqualTo("/x")))).isEmpty();
  }

  @Test
  void consecutiveFailuresEjectAServerForTheBaseTimeOnTheClockThenItReturns() throws Exception {
    backends.get(1).stubFor(any(anyUrl()).atPriority(5).willReturn(aResponse().withStatus(500).withBody("boom")));
    UpstreamGroup g = UpstreamGroup.builder().name("app").add(backends.url(0)).add(backends.url(1))
        .loadBalancing(LoadBalancing.roundRobin())
        .outlierDetection(OutlierDetection.builder().consecutiveFailures(3).baseEjectionTime(Duration.ofSeconds(30))
            .build())
        .onHealthChange(events::add)
        .build();
    try (ProxyServer proxy = proxy(g)) {
      int fives = 0;
      for (int i = 0; i < 6; i++) {
        if (Backends.get(proxy.port(), "/x").statusCode() == 500) {
          fives++;
        }
      }
      assertThat(fives).isEqualTo(3);
      assertThat(drained()).containsExactly(new HealthEvent("app", backends.url(1), ServerState.AVAILABLE,
          ServerState.EJECTED, "ejected for PT30S after 3 consecutive failures (last: status 500)"));
      assertThat(g.status().get(1)).extracting(ServerStatus::state, ServerStatus::ejections)
          .containsExactly(ServerState.EJECTED, 1);

      clock.advance(Duration.ofSeconds(30).minusMillis(1));
      for (int i = 0; i < 4; i++) {
        assertThat(Backends.get(proxy.port(), "/x").body()).isEqualTo("b0");
      }
      assertThat(drained()).isEmpty();

      clock.advance(Duration.ofMillis(1));
      assertThat(Backends.get(proxy.port(), "/x").statusCode()).isIn(200, 500);
      assertThat(drained()).containsExactly(new HealthEvent("app", backends.url(1), ServerState.EJECTED,
          ServerState.AVAILABLE, "ejection time over"));
      Backends.get(proxy.port(), "/x");
    }
    assertThat(backends.requests(1)).as("3 before the ejection, 1 of the 2 after it").isEqualTo(4);
  }

  @Test
  void aSecondEjectionLastsTwiceTheBaseTime() throws Exception {
    backends.get(1).stubFor(any(anyUrl()).atPriority(5).willReturn(aResponse().withStatus(500).withBody("boom")));
    UpstreamGroup g = UpstreamGroup.builder().name("app").add(backends.url(0)).add(backends.url(1))
        .loadBalancing(LoadBalancing.roundRobin())
        .outlierDetection(OutlierDetection.builder().consecutiveFailures(1).baseEjectionTime(Duration.ofSeconds(10))
            .build())
        .onHealthChange(events::add)
        .build();
    try (ProxyServer proxy = proxy(g, RetryPolicy.none())) {
      while (drained().isEmpty()) {
        Backends.get(proxy.port(), "/x"); // round robin: within two requests
      }
      clock.advance(Duration.ofSeconds(10));
      List<HealthEvent> seen = new ArrayList<>();
      while (seen.size() < 2) {
        Backends.get(proxy.port(), "/x"); // the first returns it, a later one ejects it again
        seen.addAll(drained());
      }
      assertThat(seen).extracting(HealthEvent::to).containsExactly(ServerState.AVAILABLE, ServerState.EJECTED);
      assertThat(seen.get(1).reason()).isEqualTo("ejected for PT20S after 1 consecutive failures (last: status 500)");
      clock.advance(Duration.ofSeconds(19));
      assertThat(Backends.get(proxy.port(), "/x").body()).isEqualTo("b0");
      assertThat(g.status().get(1)).extracting(ServerStatus::state, ServerStatus::ejections)
          .containsExactly(ServerState.EJECTED, 2);
    }
  }

  @Test
  void statusReadsTheStateWithoutChangingIt() throws Exception {
    backends.get(1).stubFor(any(anyUrl()).atPriority(5).willReturn(aResponse().withStatus(500).withBody("boom")));
    UpstreamGroup g = UpstreamGroup.builder().name("app").add(backends.url(0)).add(backends.url(1))
        .loadBalancing(LoadBalancing.roundRobin())
        .outlierDetection(OutlierDetection.builder().consecutiveFailures(1).baseEjectionTime(Duration.ofSeconds(10))
            .build())
        .onHealthChange(events::add)
        .build();
    try (ProxyServer proxy = proxy(g, RetryPolicy.none())) {
      while (drained().isEmpty()) {
        Backends.get(proxy.port(), "/x");
      }
      clock.advance(Duration.ofSeconds(10));
      for (int i = 0; i < 3; i++) {
        assertThat(g.status().get(1)).extracting(ServerStatus::state, ServerStatus::ejections)
            .containsExactly(ServerState.AVAILABLE, 1);
      }
      assertThat(drained()).as("reading status returns no server").isEmpty();
      Backends.get(proxy.port(), "/x");
      assertThat(drained()).extracting(HealthEvent::reason).first().isEqualTo("ejection time over");
    }
  }

  @Test
  void aHealthCheckRoundReturnsAServerWhoseEjectionIsOverWithoutTraffic() throws Exception {
    backends.get(1).stubFor(get(urlEqualTo("/x")).atPriority(5).willReturn(aResponse().withStatus(500)));
    UpstreamGroup g = UpstreamGroup.builder().name("app").add(backends.url(0)).add(backends.url(1))
        .loadBalancing(LoadBalancing.roundRobin())
        .healthCheck(check().build())
        .outlierDetection(OutlierDetection.builder().consecutiveFailures(1).baseEjectionTime(INTERVAL).build())
        .onHealthChange(events::add)
        .build();
    try (ProxyServer proxy = proxy(g, RetryPolicy.none())) {
      firstRound(g);
      while (drained().isEmpty()) {
        Backends.get(proxy.port(), "/x");
      }
      nextRound(g);
      assertThat(drained()).containsExactly(new HealthEvent("app", backends.url(1), ServerState.EJECTED,
          ServerState.AVAILABLE, "ejection time over"));
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
    try (ProxyServer proxy = proxy(g, RetryPolicy.none())) {
      for (int i = 0; i < 12; i++) {
        Backends.get(proxy.port(), "/x");
      }
      assertThat(drained()).as("one ejection: a second is over the 25% cap").singleElement()
          .extracting(HealthEvent::to).isEqualTo(ServerState.EJECTED);
      assertThat(g.status()).filteredOn(s -> s.state() == ServerState.EJECTED).hasSize(1);
      assertThat(g.status()).filteredOn(s -> s.consecutiveFailures() > 0).hasSize(1);
    }
  }

  @Test
  void closeStopsHealthChecksAndLeavesNoThreadBehind() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).healthCheck(check().build()).build();
    ProxyServer proxy = proxy(g);
    String worker = Engines.of(((ReverseServer) proxy).runtime()).worker().getName();
    firstRound(g);
    nextRound(g);
    nextRound(g);
    assertThat(checks(0)).isEqualTo(3);
    List<Thread> workerThreads = Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith(worker + " ")).toList();
    assertThat(workerThreads).isNotEmpty();
    proxy.close();
    // close() returns once the worker has terminated; a thread may still be on its way out of run()
    for (Thread t : workerThreads) {
      t.join(5000);
    }
    assertThat(workerThreads).noneMatch(Thread::isAlive);
    nextRound(g);
    assertThat(checks(0)).as("no round after close").isEqualTo(3);
  }

  @Test
  void aCheckPassesOnlyWithTheConfiguredMethodAndStatusRange() throws Exception {
    backends.get(0).stubFor(head(urlEqualTo("/ready")).atPriority(1).willReturn(aResponse().withStatus(204)));
    backends.get(1).stubFor(head(urlEqualTo("/ready")).atPriority(1).willReturn(aResponse().withStatus(200)));
    UpstreamGroup g = UpstreamGroup.builder().name("app").add(backends.url(0)).add(backends.url(1))
        .healthCheck(HealthCheck.http("/ready").method("HEAD").expectStatus(204, 204)
            .interval(INTERVAL).timeout(Duration.ofSeconds(2)).unhealthyThreshold(2).build())
        .onHealthChange(events::add).build();
    try (ProxyServer proxy = proxy(g)) {
      firstRound(g);
      nextRound(g);
      assertThat(drained()).containsExactly(new HealthEvent("app", backends.url(1), ServerState.AVAILABLE,
          ServerState.UNHEALTHY, "2 health check(s) failed (last: status 200)"));
      assertThat(Backends.get(proxy.port(), "/x").body()).isEqualTo("b0");
    }
    assertThat(backends.get(0).findAll(headRequestedFor(urlEqualTo("/ready")))).hasSize(2);
    assertThat(backends.get(0).findAll(getRequestedFor(urlEqualTo("/ready")))).isEmpty();
  }

  @Test
  void aGroupSharedByTwoProxiesNeedsTheSameClock() {
    UpstreamGroup g = UpstreamGroup.builder().name("shared").add(backends.url(0)).build();
    ReverseProxy.builder().clock(clock).addRoute(Route.any().to(g)).build();
    assertThatThrownBy(() -> ReverseProxy.builder().addRoute(Route.any().to(g)).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("clock: ")
        .hasMessageContaining("(expected: the clock of the other proxy using upstream group shared, ");
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
