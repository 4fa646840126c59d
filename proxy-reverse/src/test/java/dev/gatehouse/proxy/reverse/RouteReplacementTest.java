package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Routes replaced as a whole while the proxy serves: atomic, nothing dropped, nothing leaked. */
@Timeout(180)
class RouteReplacementTest {
  static final int SWAPS = 100;
  static final int CLIENTS = 6;
  static final int REQUESTS = 4000;

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.yield();
    }
  }

  @Test
  void routesSwappedAHundredTimesUnderLoadFailNoRequestAndLeakNoConnection() throws Exception {
    List<CountingUpstream> ups = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      ups.add(new CountingUpstream("u" + i));
    }
    ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
    try {
      UpstreamGroup kept = UpstreamGroup.builder().name("kept").add(ups.get(0).url()).add(ups.get(1).url()).build();
      ReverseProxyServer proxy = ReverseProxy.builder()
          .addRoute(Route.pathPrefix("/a").name("a").to(kept))
          .addRoute(Route.pathPrefix("/b").name("b").to(UpstreamGroup.builder().name("b").add(ups.get(2).url()).build()))
          .build().start();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger done = new AtomicInteger();
      Semaphore progress = new Semaphore(0);
      List<String> failures = new CopyOnWriteArrayList<>();
      Map<String, AtomicInteger> answeredBy = new ConcurrentHashMap<>();
      List<Future<?>> load = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        int client = c;
        load.add(clients.submit(() -> {
          HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(5)).build();
          for (int i = 0; !stop.get() || done.get() < REQUESTS; i++) {
            String path = ((i + client) % 2 == 0 ? "/a/" : "/b/") + i;
            try {
              HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port()
                  + path)).timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
              if (r.statusCode() != 200) {
                failures.add(path + " -> " + r.statusCode() + " " + r.body());
              } else {
                answeredBy.computeIfAbsent(r.body(), k -> new AtomicInteger()).incrementAndGet();
              }
            } catch (Exception e) {
              failures.add(path + " -> " + e);
            }
            done.incrementAndGet();
            progress.release();
          }
          return null;
        }));
      }

      UpstreamGroup lastB = null;
      for (int s = 0; s < SWAPS; s++) {
        assertThat(progress.tryAcquire(REQUESTS / SWAPS / 2, 30, TimeUnit.SECONDS)).as("load progresses").isTrue();
        lastB = UpstreamGroup.builder().name("b" + s).add(ups.get(2 + s % 2).url()).build(); // a new group each time
        proxy.routes(s % 2 == 0
            ? List.of(Route.pathPrefix("/b").name("b").to(lastB), Route.pathPrefix("/a").name("a").to(kept))
            : List.of(Route.pathPrefix("/a").name("a").to(kept), Route.pathPrefix("/b").name("b").to(lastB)));
      }
      stop.set(true);
      for (Future<?> f : load) {
        f.get(120, TimeUnit.SECONDS);
      }

      assertThat(failures).isEmpty();
      assertThat(done.get()).isGreaterThanOrEqualTo(REQUESTS);
      assertThat(answeredBy.keySet()).contains("u0", "u1", "u2", "u3");
      // the group kept through every swap kept its keep-alive connections: no churn
      assertThat(ups.get(0).connectionsUsed() + ups.get(1).connectionsUsed()).isLessThan(4 * CLIENTS + 8);
      // the last /b group is the only other one left; every other pool was retired once drained
      String lastBUrl = lastB.servers().get(0);
      Set<String> expected = Set.of(ups.get(0).url(), ups.get(1).url(), lastBUrl);
      await("only the pools of the groups in use remain", () -> proxy.status().pools().stream()
          .allMatch(p -> expected.contains(p.upstream())));
      // and the upstreams hold exactly the connections the proxy's pools hold: none leaked
      await("the upstreams hold no connection the proxy forgot", () -> {
        ProxyStatus st = proxy.status();
        for (CountingUpstream u : ups) {
          long pooled = st.pools().stream().filter(p -> p.upstream().equals(u.url()))
              .mapToLong(ProxyStatus.Pool::openConnections).sum();
          if (u.openConnections() != pooled) {
            return false;
          }
        }
        return true;
      });
      String retired = ups.get(2).url().equals(lastBUrl) ? ups.get(3).url() : ups.get(2).url();
      assertThat(proxy.status().pools()).noneMatch(p -> p.upstream().equals(retired));
      assertThat(proxy.status().groups()).extracting(ProxyStatus.Group::name)
          .containsExactlyInAnyOrder("kept", lastB.name());
      proxy.close();
    } finally {
      clients.shutdownNow();
      for (CountingUpstream u : ups) {
        u.close();
      }
    }
  }

  @Test
  void anExchangeInFlightFinishesOnTheGroupItStartedWith() throws Exception {
    try (Backends backends = Backends.start(2)) {
      backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withStatus(200).withBody("old")
          .withFixedDelay(1500)));
      UpstreamGroup old = UpstreamGroup.builder().name("old").add(backends.url(0)).build();
      try (ReverseProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().to(old)).build().start()) {
        java.util.concurrent.CompletableFuture<HttpResponse<String>> slow =
            java.util.concurrent.CompletableFuture.supplyAsync(() -> {
              try {
                return Backends.get(proxy.port(), "/slow");
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
        await("the slow request reached the old group", () -> old.status().get(0).activeRequests() == 1);

        proxy.routes(List.of(Route.any().to(UpstreamGroup.builder().name("new").add(backends.url(1)).build())));

        assertThat(Backends.get(proxy.port(), "/next").body()).isEqualTo("b1");
        assertThat(slow.get(20, TimeUnit.SECONDS).body()).isEqualTo("old");
        assertThat(proxy.status().groups()).extracting(ProxyStatus.Group::name).containsExactly("new");
        await("the old group's pool is closed once drained", () -> proxy.status().pools().stream()
            .noneMatch(p -> p.upstream().equals(backends.url(0))));
      }
    }
  }

  @Test
  void aGroupStillReferencedKeepsItsHealthStateAcrossASwap() throws Exception {
    try (Backends backends = Backends.start(2)) {
      backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withStatus(500)));
      UpstreamGroup g = UpstreamGroup.builder().name("g").add(backends.url(0)).add(backends.url(1))
          .outlierDetection(OutlierDetection.builder().consecutiveFailures(1).baseEjectionTime(Duration.ofSeconds(60))
              .build())
          .build();
      try (ReverseProxyServer proxy = ReverseProxy.builder()
          .addRoute(Route.any().retry(RetryPolicy.none()).to(g)).build().start()) {
        for (int i = 0; i < 2; i++) {
          Backends.get(proxy.port(), "/" + i);
        }
        assertThat(g.status().get(0).state()).isEqualTo(ServerState.EJECTED);

        proxy.routes(List.of(Route.pathPrefix("/x").to(backends.url(1)), Route.any().retry(RetryPolicy.none()).to(g)));

        assertThat(proxy.status().groups().get(1).servers().get(0).state()).isEqualTo("EJECTED");
        for (int i = 0; i < 4; i++) {
          assertThat(Backends.get(proxy.port(), "/after/" + i).body()).isEqualTo("b1");
        }
      }
    }
  }

  @Test
  void aRejectedListLeavesTheRoutesAsTheyWere() throws Exception {
    try (Backends backends = Backends.start(1)) {
      Route only = Route.any().to(backends.url(0));
      ReverseProxyServer proxy = ReverseProxy.builder().addRoute(only).build().start();
      try {
        assertThatThrownBy(() -> proxy.routes(List.of())).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("routes: [] (expected: at least one route)");
        assertThatThrownBy(() -> proxy.routes(List.of(Route.pathPrefix("/a").to(backends.url(0)),
            Route.pathPrefix("/a").to(backends.url(0))))).isInstanceOf(IllegalStateException.class)
            .hasMessageStartingWith("route pathPrefix(/a) is already mapped to ");
        assertThatThrownBy(() -> proxy.routes(null)).isInstanceOf(NullPointerException.class).hasMessage("routes");

        assertThat(proxy.routes()).containsExactly(only);
        assertThat(Backends.get(proxy.port(), "/a").statusCode()).isEqualTo(200);
      } finally {
        proxy.close();
      }
      assertThatThrownBy(() -> proxy.routes(List.of(only))).isInstanceOf(IllegalStateException.class)
          .hasMessage("proxy closed (expected: routes replaced before or while it runs)");
    }
  }
}
