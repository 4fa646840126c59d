package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.http.Fault;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.events.AttemptOutcome;
import dev.gatehouse.proxy.events.ExchangeOutcome;
import dev.gatehouse.proxy.events.UpstreamAttempt;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The reverse proxy's own events: routes, groups and servers of attempts, retries, circuit breaking, health. */
@Timeout(60)
class ReverseEventsTest {
  Backends backends;
  final RecordingListener events = new RecordingListener();

  @BeforeEach
  void start() {
    backends = Backends.start(2);
  }

  @AfterEach
  void stop() {
    backends.close();
  }

  @Test
  void attemptsNameTheRouteTheGroupAndTheServer() throws Exception {
    UpstreamGroup group = UpstreamGroup.builder().name("api").add(backends.url(0)).build();
    UpstreamGroup unnamed = UpstreamGroup.of(backends.url(1));
    try (ProxyServer proxy = ReverseProxy.builder().addListener(events)
        .addRoute(Route.pathPrefix("/api").name("api-route").to(group))
        .addRoute(Route.any().to(unnamed))
        .build().start()) {
      assertThat(Backends.get(proxy.port(), "/api/x").body()).isEqualTo("b0");
      assertThat(Backends.get(proxy.port(), "/other").body()).isEqualTo("b1");
      events.awaitEnded(2);

      assertThat(events.events("routeChosen", "attemptStarted")).containsExactly(
          "routeChosen api-route", "attemptStarted #1 api " + backends.url(0),
          "routeChosen any()", "attemptStarted #1 " + unnamed.name() + " " + backends.url(1));
      assertThat(events.ended.get(0).route()).hasValue("api-route");
      assertThat(events.ended.get(0).outcome()).isEqualTo(ExchangeOutcome.UPSTREAM);
    }
  }

  @Test
  void aRetryIsASecondAttemptOfTheSameExchange() throws Exception {
    backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
    UpstreamGroup group = UpstreamGroup.builder().name("pair").add(backends.url(0), 1000).add(backends.url(1), 1).build();
    try (ProxyServer proxy = ReverseProxy.builder().addListener(events).addRoute(Route.any().to(group)).build().start()) {
      assertThat(Backends.get(proxy.port(), "/r").body()).isEqualTo("b1");
      events.awaitEnded(1);

      assertThat(events.events("attempt")).containsExactly(
          "attemptStarted #1 pair " + backends.url(0), "attemptEnded #1 reset 0",
          "attemptStarted #2 pair " + backends.url(1), "attemptEnded #2 response 200");
      assertThat(events.ended.get(0).upstreamAttempts()).isEqualTo(2);
      UpstreamAttempt first = events.attempts.get(0);
      assertThat(first.outcome()).isEqualTo(AttemptOutcome.RESET);
      assertThat(first.error()).isPresent();
    }
  }

  @Test
  void aServerAtItsConcurrencyLimitIsReportedAsAnOpenCircuit() throws Exception {
    backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withStatus(200).withBody("slow")
        .withFixedDelay(3000)));
    UpstreamGroup group = UpstreamGroup.builder().name("one").add(backends.url(0)).maxConcurrentRequestsPerServer(1)
        .build();
    try (ProxyServer proxy = ReverseProxy.builder().addListener(events).addRoute(Route.any().to(group)).build().start()) {
      CompletableFuture<Integer> slow = CompletableFuture.supplyAsync(() -> {
        try {
          return Backends.get(proxy.port(), "/slow").statusCode();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      events.await("attemptStarted #1 one");
      assertThat(Backends.get(proxy.port(), "/second").statusCode()).isEqualTo(503);

      assertThat(events.await("decision upstream")).isEqualTo("decision upstream circuit-open one");
      assertThat(slow.get(20, TimeUnit.SECONDS)).isEqualTo(200);
    }
  }

  @Test
  void outlierEjectionIsAServerStateChange() throws Exception {
    backends.get(1).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withStatus(500)));
    UpstreamGroup group = UpstreamGroup.builder().name("g").add(backends.url(0)).add(backends.url(1))
        .outlierDetection(OutlierDetection.builder().consecutiveFailures(1).baseEjectionTime(Duration.ofSeconds(30))
            .build())
        .build();
    try (ProxyServer proxy = ReverseProxy.builder().addListener(events)
        .addRoute(Route.any().retry(RetryPolicy.none()).to(group)).build().start()) {
      for (int i = 0; i < 2; i++) {
        Backends.get(proxy.port(), "/" + i);
      }

      assertThat(events.await("serverState")).isEqualTo("serverState g " + backends.url(1) + " AVAILABLE->EJECTED");
    }
  }
}
