package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyServer;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class BalancingThroughProxyTest {
  static Backends backends;

  @BeforeAll
  static void start() {
    backends = Backends.start(3);
  }

  @AfterAll
  static void stop() {
    backends.close();
  }

  private static ProxyServer proxy(UpstreamGroup group) {
    return ReverseProxy.builder().addRoute(Route.any().to(group)).build().start();
  }

  @Test
  void weightedGroupSplitsRequestsThreeThreeTwo() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0), 3).add(backends.url(1), 3).add(backends.url(2), 2).build();
    Map<String, Integer> counts = new ConcurrentHashMap<>();
    try (ProxyServer proxy = proxy(g)) {
      for (int i = 0; i < 80; i++) {
        HttpResponse<String> r = Backends.get(proxy.port(), "/w");
        assertThat(r.statusCode()).isEqualTo(200);
        counts.merge(r.body(), 1, Integer::sum);
      }
    }
    assertThat(counts).containsEntry("b0", 30).containsEntry("b1", 30).containsEntry("b2", 20);
  }

  @Test
  void stickySessionCookieKeepsAClientOnOneServer() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).add(backends.url(1)).add(backends.url(2))
        .loadBalancing(LoadBalancing.roundRobin()).stickySessions("GH_ROUTE").build();
    try (ProxyServer proxy = proxy(g)) {
      HttpResponse<String> first = Backends.get(proxy.port(), "/s");
      String setCookie = first.headers().firstValue("Set-Cookie").orElseThrow();
      assertThat(setCookie).matches("GH_ROUTE=[0-9a-f]{12}; Path=/; HttpOnly");
      String cookie = setCookie.substring(0, setCookie.indexOf(';'));
      for (int i = 0; i < 10; i++) {
        HttpResponse<String> r = Backends.get(proxy.port(), "/s", "Cookie", "a=b; " + cookie);
        assertThat(r.body()).isEqualTo(first.body());
        assertThat(r.headers().firstValue("Set-Cookie")).isEmpty();
      }
    }
  }

  @Test
  void consistentHashByHeaderSendsTheSameUserToTheSameServer() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).add(backends.url(1)).add(backends.url(2))
        .loadBalancing(LoadBalancing.consistentHashByHeader("X-User")).build();
    try (ProxyServer proxy = proxy(g)) {
      Map<String, String> first = new ConcurrentHashMap<>();
      for (int round = 0; round < 3; round++) {
        for (int u = 0; u < 20; u++) {
          String body = Backends.get(proxy.port(), "/h", "X-User", "user-" + u).body();
          assertThat(first.computeIfAbsent("user-" + u, k -> body)).isEqualTo(body);
        }
      }
      assertThat(first.values()).contains("b0", "b1", "b2");
    }
  }

  @Test
  void serversCanBeAddedReweightedAndRemovedUnderConcurrentLoadWithoutFailingRequests() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).add(backends.url(1))
        .loadBalancing(LoadBalancing.leastConnections()).build();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger ok = new AtomicInteger();
    List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    Map<String, Integer> afterRemoval = new ConcurrentHashMap<>();
    AtomicBoolean removed = new AtomicBoolean();
    Milestones milestones = new Milestones();
    java.util.concurrent.CountDownLatch at60 = milestones.at(60);
    java.util.concurrent.CountDownLatch at150 = milestones.at(150);
    java.util.concurrent.CountDownLatch at250 = milestones.at(250);
    java.util.concurrent.CountDownLatch at400 = milestones.at(400);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try (ProxyServer proxy = proxy(g)) {
      List<Future<?>> clients = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        clients.add(pool.submit(() -> {
          while (running.get()) {
            try {
              boolean sentAfterRemoval = removed.get();
              HttpResponse<String> r = Backends.get(proxy.port(), "/load");
              if (r.statusCode() != 200) {
                failures.add(r.statusCode() + " " + r.body());
              } else {
                ok.incrementAndGet();
                milestones.success();
                if (sentAfterRemoval) {
                  afterRemoval.merge(r.body(), 1, Integer::sum);
                }
              }
            } catch (Exception e) {
              failures.add(e.toString());
            }
          }
          return null;
        }));
      }
      at60.await();
      g.addServer(backends.url(2), 2);
      at150.await();
      g.setWeight(backends.url(1), 3);
      at250.await();
      assertThat(g.removeServer(backends.url(0))).isTrue();
      removed.set(true);
      at400.await();
      running.set(false);
      for (Future<?> f : clients) {
        f.get();
      }
      assertThat(g.servers()).containsExactly(backends.url(1), backends.url(2));
    } finally {
      pool.shutdownNow();
    }
    assertThat(failures).isEmpty();
    assertThat(afterRemoval).doesNotContainKey("b0").containsKeys("b1", "b2");
  }

  /** Successful requests counted down on every latch: the test waits for a count, bounded by @Timeout. */
  private static final class Milestones {
    final List<java.util.concurrent.CountDownLatch> latches = new java.util.concurrent.CopyOnWriteArrayList<>();

    java.util.concurrent.CountDownLatch at(int count) {
      java.util.concurrent.CountDownLatch l = new java.util.concurrent.CountDownLatch(count);
      latches.add(l);
      return l;
    }

    void success() {
      for (java.util.concurrent.CountDownLatch l : latches) {
        l.countDown();
      }
    }
  }

  @Test
  void leastConnectionsSendsFewerRequestsToASlowServer() throws Exception {
    try (Backends local = Backends.start(2)) {
      local.get(0).stubFor(com.github.tomakehurst.wiremock.client.WireMock.any(
          com.github.tomakehurst.wiremock.client.WireMock.anyUrl()).atPriority(1)
          .willReturn(com.github.tomakehurst.wiremock.client.WireMock.aResponse().withFixedDelay(200).withBody("slow")));
      UpstreamGroup g = UpstreamGroup.builder().add(local.url(0)).add(local.url(1))
          .loadBalancing(LoadBalancing.leastConnections()).build();
      Map<String, Integer> counts = new ConcurrentHashMap<>();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try (ProxyServer proxy = proxy(g)) {
        List<Future<?>> clients = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          clients.add(pool.submit(() -> {
            for (int i = 0; i < 15; i++) {
              counts.merge(Backends.get(proxy.port(), "/lc").body(), 1, Integer::sum);
            }
            return null;
          }));
        }
        for (Future<?> f : clients) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      // while the slow server holds a request, the others go to the fast one
      assertThat(counts.get("b1")).isGreaterThan(3 * counts.getOrDefault("slow", 0));
    }
  }

  @Test
  void aWholeNewServerListIsSwappedInAtOnceAndARemovedServerDrainsItsRequest() throws Exception {
    try (Backends local = Backends.start(3)) {
      local.get(0).stubFor(com.github.tomakehurst.wiremock.client.WireMock.any(
          com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo("/slow")).atPriority(1)
          .willReturn(com.github.tomakehurst.wiremock.client.WireMock.aResponse().withFixedDelay(1000).withBody("slow")));
      UpstreamGroup g = UpstreamGroup.builder().add(local.url(0)).add(local.url(1)).build();
      try (ProxyServer proxy = proxy(g)) {
        java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>> slow = Backends.CLIENT.sendAsync(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + proxy.port() + "/slow")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        while (g.status().get(0).activeRequests() == 0) {
          Thread.onSpinWait();
        }
        Map<String, Integer> next = new java.util.LinkedHashMap<>();
        next.put(local.url(1), 1);
        next.put(local.url(2), 3);
        g.setServers(next);
        assertThat(g.servers()).containsExactly(local.url(1), local.url(2));
        assertThat(g.status()).extracting(ServerStatus::uri, ServerStatus::state).containsExactly(
            org.assertj.core.groups.Tuple.tuple(local.url(1), ServerState.AVAILABLE),
            org.assertj.core.groups.Tuple.tuple(local.url(2), ServerState.AVAILABLE),
            org.assertj.core.groups.Tuple.tuple(local.url(0), ServerState.DRAINING));
        Map<String, Integer> counts = new ConcurrentHashMap<>();
        for (int i = 0; i < 8; i++) {
          counts.merge(Backends.get(proxy.port(), "/n").body(), 1, Integer::sum);
        }
        assertThat(counts).containsEntry("b1", 2).containsEntry("b2", 6);
        assertThat(slow.get().body()).as("the removed server finished its request").isEqualTo("slow");
        while (g.status().size() != 2) {
          Thread.onSpinWait();
        }
      }
    }
    assertThatThrownBy(() -> UpstreamGroup.of(backends.url(0)).setServers(Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("servers: {} (expected: at least one server; an upstream group is never empty)");
  }

  @Test
  void runtimeChangesAreValidated() {
    UpstreamGroup g = UpstreamGroup.builder().name("api").add(backends.url(0)).build();
    assertThatThrownBy(() -> g.addServer(backends.url(0)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("server: " + backends.url(0) + " is already in upstream group api (expected: a new server; use setWeight to change its weight)");
    assertThatThrownBy(() -> g.removeServer(backends.url(0)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("server: " + backends.url(0) + " is the last server of upstream group api (expected: add another before removing it)");
    assertThatThrownBy(() -> g.setWeight("http://127.0.0.1:1", 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("server: http://127.0.0.1:1 (expected: a server of upstream group api)");
    assertThatThrownBy(() -> g.setWeight(backends.url(0), 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("weight: 0 (expected: 1-1000)");
    assertThat(g.removeServer("http://127.0.0.1:1")).isFalse();
  }
}
