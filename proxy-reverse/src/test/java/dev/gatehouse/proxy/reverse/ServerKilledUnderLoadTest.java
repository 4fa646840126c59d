package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.LogCapture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The scenario at loopback scale: three servers behind one group (health checks, default
 * outlier detection), concurrent keep-alive clients, one server killed mid-load (listener closed,
 * connections reset) and brought back. No client request may fail: requests that never reached the dead
 * server go to another one, and those it dropped are retried; the server rejoins once its checks pass.
 * Phases are bounded by request counts, health events and the proxy's clock, never by sleeping.
 */
@Timeout(60)
class ServerKilledUnderLoadTest {
  static final Duration INTERVAL = Duration.ofSeconds(1);
  static final int CLIENTS = 6;

  /** Counts successes down on every latch handed out. */
  static final class Milestones {
    final List<CountDownLatch> latches = new CopyOnWriteArrayList<>();

    CountDownLatch after(int successes) {
      CountDownLatch l = new CountDownLatch(successes);
      latches.add(l);
      return l;
    }

    void success() {
      for (CountDownLatch l : latches) {
        l.countDown();
      }
    }
  }

  /** The first event for {@code server} reaching {@code state}. */
  static final class Watch {
    final Map<String, CountDownLatch> latches = new ConcurrentHashMap<>();
    final List<HealthEvent> all = new CopyOnWriteArrayList<>();

    CountDownLatch on(String server, ServerState state) {
      return latches.computeIfAbsent(server + " " + state, k -> new CountDownLatch(1));
    }

    void event(HealthEvent e) {
      all.add(e);
      on(e.server(), e.to()).countDown();
    }
  }

  static void await(CountDownLatch latch, String what) throws InterruptedException {
    assertThat(latch.await(30, TimeUnit.SECONDS)).as(what).isTrue();
  }

  @Test
  void aServerKilledUnderLoadAndBroughtBackCostsNoClientRequestAndRejoins() throws Exception {
    TestClock clock = new TestClock();
    Watch watch = new Watch();
    Milestones milestones = new Milestones();
    Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
    List<String> failures = new CopyOnWriteArrayList<>();
    AtomicBoolean running = new AtomicBoolean(true);
    ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
    try (LogCapture log = new LogCapture();
        KillableUpstream app1 = new KillableUpstream("app-1");
        KillableUpstream app2 = new KillableUpstream("app-2");
        KillableUpstream app3 = new KillableUpstream("app-3")) {
      UpstreamGroup g = UpstreamGroup.builder().name("app")
          .add(app1.url()).add(app2.url()).add(app3.url())
          .healthCheck(HealthCheck.http("/health").interval(INTERVAL).timeout(Duration.ofMillis(500))
              .unhealthyThreshold(2).healthyThreshold(2).build())
          .outlierDetection(OutlierDetection.defaults())
          .onHealthChange(watch::event)
          .build();
      try (ProxyServer proxy = ReverseProxy.builder().clock(clock).addRoute(Route.any().to(g)).build().start()) {
        g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).proxy(HttpClient.Builder.NO_PROXY).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/load"))
            .timeout(Duration.ofSeconds(20)).build();
        List<Future<?>> load = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
          load.add(clients.submit(() -> {
            while (running.get()) {
              try {
                HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
                outcomes.computeIfAbsent(r.statusCode() + " " + r.body(), k -> new AtomicInteger()).incrementAndGet();
                if (r.statusCode() == 200) {
                  milestones.success();
                } else {
                  failures.add(r.statusCode() + " " + r.body().strip());
                }
              } catch (Exception e) {
                failures.add(e.toString());
              }
            }
            return null;
          }));
        }

        await(milestones.after(300), "300 requests before the kill");
        app2.kill();
        int othersAtKill = app1.served.get() + app3.served.get();
        await(watch.on(app2.url(), ServerState.EJECTED), "outlier detection ejects the killed server");
        await(milestones.after(300), "300 requests with the server down");
        for (int round = 0; round < 2; round++) {
          clock.advance(INTERVAL);
          g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
        }
        assertThat(watch.on(app2.url(), ServerState.UNHEALTHY).getCount()).as("two failed checks").isZero();
        int othersWhileDown = app1.served.get() + app3.served.get() - othersAtKill;

        app2.restart();
        for (int round = 0; round < 2; round++) {
          clock.advance(INTERVAL);
          g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
        }
        assertThat(watch.all).filteredOn(e -> e.server().equals(app2.url())).last()
            .extracting(HealthEvent::to).isEqualTo(ServerState.AVAILABLE);
        while (app2.servedSinceStart.get() < 100) {
          await(milestones.after(50), "traffic after the restart");
        }
        running.set(false);
        for (Future<?> f : load) {
          f.get(30, TimeUnit.SECONDS);
        }

        int total = outcomes.values().stream().mapToInt(AtomicInteger::get).sum();
        String logged = log.text();
        long retries = logged.lines().filter(l -> l.contains(": retrying on ")).count();
        long refused = logged.lines().filter(l -> l.contains(": retrying on ") && l.contains("Connection refused"))
            .count();
        System.out.printf("server killed under load: %d requests, outcomes %s, %d retried (%d after a refused "
            + "connection); served app-1 %d, app-2 %d (%d after its restart), app-3 %d; health events %s%n", total,
            outcomes, retries, refused, app1.served.get(), app2.served.get(), app2.servedSinceStart.get(),
            app3.served.get(), watch.all);
        assertThat(failures).as("failed client requests").isEmpty();
        assertThat(outcomes.keySet()).allMatch(k -> k.startsWith("200 app-"));
        assertThat(othersWhileDown).as("served by the other two while it was down").isGreaterThanOrEqualTo(300);
        assertThat(retries).as("requests the kill touched were retried").isPositive();
        assertThat(app2.servedSinceStart.get()).as("the restarted server rejoined").isGreaterThanOrEqualTo(100);
        assertThat(g.status()).extracting(ServerStatus::state).containsOnly(ServerState.AVAILABLE);
      }
    } finally {
      running.set(false);
      clients.shutdownNow();
    }
  }
}
