package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class WeightedBalancingTest {

  @Test
  void weightedGroupSplits800RequestsThreeThreeTwo() throws Exception {
    try (RawUpstream one = RawUpstream.keepAlive("1");
         RawUpstream two = RawUpstream.keepAlive("2");
         RawUpstream three = RawUpstream.keepAlive("3");
         ProxyServer proxy = ReverseProxy.builder()
             .addRoute(Route.any().to(UpstreamGroup.builder()
                 .add(one.url(), 3).add(two.url(), 3).add(three.url(), 2).build()))
             .build().start()) {
      HttpClient client = Clients.http();
      Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
      for (int round = 0; round < 40; round++) {
        List<CompletableFuture<HttpResponse<String>>> batch = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          batch.add(client.sendAsync(Clients.get(proxy, "/w"), HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : batch) {
          counts.computeIfAbsent(f.join().body(), k -> new AtomicInteger()).incrementAndGet();
        }
      }

      assertThat(counts.get("1").get() + counts.get("2").get() + counts.get("3").get()).isEqualTo(800);
      assertThat(counts.get("1").get()).isCloseTo(300, within(8));
      assertThat(counts.get("2").get()).isCloseTo(300, within(8));
      assertThat(counts.get("3").get()).isCloseTo(200, within(8));
      // keep-alive: 800 requests over few connections per upstream
      assertThat(one.connections() + two.connections() + three.connections()).isLessThan(100);
    }
  }

  @Test
  void smoothWeightedRoundRobinInterleaves() {
    UpstreamGroup g = UpstreamGroup.builder()
        .add("http://a:1", 5).add("http://b:1", 1).add("http://c:1", 1).build();
    StringBuilder seq = new StringBuilder();
    for (int i = 0; i < 7; i++) {
      seq.append(g.chooser().choose(null, null, true, g.now()).uri().getHost());
    }
    assertThat(seq.toString()).isEqualTo("aabacaa");
  }

  @Test
  void roundRobinIgnoresWeights() {
    UpstreamGroup g = UpstreamGroup.builder().loadBalancing(LoadBalancing.roundRobin())
        .add("http://a:1", 5).add("http://b:1", 1).build();
    StringBuilder seq = new StringBuilder();
    for (int i = 0; i < 4; i++) {
      seq.append(g.chooser().choose(null, null, true, g.now()).uri().getHost());
    }
    assertThat(seq.toString()).isEqualTo("abab");
  }
}
