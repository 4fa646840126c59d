package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.http.Fault;
import dev.gatehouse.proxy.ProxyServer;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A load-balancing policy written by a user, plugged into a group and used through the proxy. */
@Timeout(60)
class CustomLoadBalancingTest {
  Backends backends;

  @BeforeEach
  void start() {
    backends = Backends.start(3);
  }

  @AfterEach
  void stop() {
    backends.close();
  }

  /**
   * What a user would write: {@code X-Shard: n} pins a request to the n-th server while it is usable;
   * other requests go round the usable servers. Uses only the public interface.
   */
  static final class ShardPolicy implements LoadBalancing {
    final List<List<String>> lists = new CopyOnWriteArrayList<>();

    @Override
    public Selector selector(List<Server> servers) {
      lists.add(servers.stream().map(Server::uri).toList());
      AtomicInteger next = new AtomicInteger();
      return (exchange, usable) -> {
        Optional<String> shard = exchange.request().headers().get("X-Shard");
        if (shard.isPresent()) {
          Server pinned = servers.get(Integer.parseInt(shard.get()) % servers.size());
          if (usable.test(pinned)) {
            return pinned;
          }
        }
        for (int i = 0; i < servers.size(); i++) {
          Server s = servers.get(Math.floorMod(next.getAndIncrement(), servers.size()));
          if (usable.test(s)) {
            return s;
          }
        }
        return null;
      };
    }

    @Override
    public String toString() {
      return "shard";
    }
  }

  ProxyServer proxy(UpstreamGroup g) {
    return ReverseProxy.builder().addRoute(Route.any().to(g)).build().start();
  }

  @Test
  void aUserWrittenPolicyChoosesTheServerOfEveryRequestThroughTheProxy() throws Exception {
    ShardPolicy policy = new ShardPolicy();
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).add(backends.url(1)).add(backends.url(2))
        .loadBalancing(policy).build();
    try (ProxyServer proxy = proxy(g)) {
      for (int i = 0; i < 5; i++) {
        assertThat(Backends.get(proxy.port(), "/s", "X-Shard", "2").body()).isEqualTo("b2");
      }
      for (int i = 0; i < 3; i++) {
        assertThat(Backends.get(proxy.port(), "/s", "X-Shard", "0").body()).isEqualTo("b0");
      }
      for (int i = 0; i < 3; i++) {
        assertThat(Backends.get(proxy.port(), "/s").statusCode()).isEqualTo(200);
      }
    }
    assertThat(backends.requests(0)).isEqualTo(3 + 1);
    assertThat(backends.requests(1)).isEqualTo(1);
    assertThat(backends.requests(2)).isEqualTo(5 + 1);
    assertThat(g.toString()).endsWith("shard[" + backends.url(0) + ", " + backends.url(1) + ", " + backends.url(2) + "]");
  }

  @Test
  void aUserWrittenPolicyGetsANewSelectorWhenTheServerListChanges() throws Exception {
    ShardPolicy policy = new ShardPolicy();
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).add(backends.url(1)).loadBalancing(policy).build();
    try (ProxyServer proxy = proxy(g)) {
      g.addServer(backends.url(2));
      assertThat(Backends.get(proxy.port(), "/s", "X-Shard", "2").body()).isEqualTo("b2");
      g.removeServer(backends.url(0));
      assertThat(Backends.get(proxy.port(), "/s", "X-Shard", "0").body()).isEqualTo("b1");
    }
    assertThat(policy.lists).containsExactly(
        List.of(backends.url(0), backends.url(1)),
        List.of(backends.url(0), backends.url(1), backends.url(2)),
        List.of(backends.url(1), backends.url(2)));
    assertThat(backends.requests(0)).isZero();
  }

  @Test
  void aUserWrittenPolicyIsOfferedOnlyUsableServersSoARetryGoesToAnotherServer() throws Exception {
    backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).add(backends.url(1)).add(backends.url(2))
        .loadBalancing(new ShardPolicy()).build();
    try (ProxyServer proxy = proxy(g)) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/s", "X-Shard", "0");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isIn("b1", "b2");
    }
    assertThat(backends.requests(0)).isEqualTo(1);
    assertThat(backends.requests(1) + backends.requests(2)).isEqualTo(1);
  }

  @Test
  void aPolicyThatPicksAServerTheGroupRefusedFailsTheRequestWith500() throws Exception {
    backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
    LoadBalancing stubborn = servers -> (exchange, usable) -> servers.get(0); // ignores usable
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).add(backends.url(1)).loadBalancing(stubborn).build();
    try (ProxyServer proxy = proxy(g)) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/s");
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(r.body()).isEqualTo("Internal Server Error\n");
    }
    assertThat(backends.requests(0)).as("the first try, before the retry the policy got wrong").isEqualTo(1);
    assertThat(backends.requests(1)).isZero();
  }

  @Test
  void aPolicyThatThrowsFailsTheRequestWith500AndContactsNoServer() throws Exception {
    LoadBalancing broken = servers -> (exchange, usable) -> {
      throw new IllegalStateException("boom");
    };
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).loadBalancing(broken).build();
    try (ProxyServer proxy = proxy(g)) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/s");
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(r.body()).isEqualTo("Internal Server Error\n");
    }
    assertThat(backends.requests(0)).isZero();
  }

  @Test
  void aPolicyThatFindsNoUsableServerGivesA503() throws Exception {
    LoadBalancing none = servers -> (exchange, usable) -> null;
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).loadBalancing(none).build();
    try (ProxyServer proxy = proxy(g)) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/s");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).isEqualTo("Service Unavailable\n");
    }
    assertThat(backends.requests(0)).isZero();
  }
}
