package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyExchange;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/** How an {@link UpstreamGroup} chooses a server for each request. */
public final class LoadBalancing {
  private final String name;
  private final Function<List<UpstreamServer>, Selector> factory;

  private LoadBalancing(String name, Function<List<UpstreamServer>, Selector> factory) {
    this.name = name;
    this.factory = factory;
  }

  /** Each server in turn, ignoring weights. */
  public static LoadBalancing roundRobin() {
    return new LoadBalancing("roundRobin", RoundRobin::new);
  }

  /**
   * Smooth weighted round robin, as nginx's {@code weight=}: over any window of total-weight requests
   * each server gets exactly its weight's share, interleaved rather than in bursts (weights 5, 1, 1
   * give a a b a c a a, not a a a a a b c).
   */
  public static LoadBalancing weightedRoundRobin() {
    return new LoadBalancing("weightedRoundRobin", SmoothWeighted::new);
  }

  String name() {
    return name;
  }

  Selector selector(List<UpstreamServer> servers) {
    return factory.apply(servers);
  }

  @Override
  public String toString() {
    return name;
  }

  /** Chooses one server per exchange; thread-safe. */
  interface Selector {
    UpstreamServer select(ProxyExchange exchange);
  }

  private static final class RoundRobin implements Selector {
    private final List<UpstreamServer> servers;
    private final AtomicInteger next = new AtomicInteger();

    RoundRobin(List<UpstreamServer> servers) {
      this.servers = servers;
    }

    @Override
    public UpstreamServer select(ProxyExchange exchange) {
      return servers.get(Math.floorMod(next.getAndIncrement(), servers.size()));
    }
  }

  private static final class SmoothWeighted implements Selector {
    private final List<UpstreamServer> servers;
    private final int[] weights;
    private final int[] current;
    private final int total;

    SmoothWeighted(List<UpstreamServer> servers) {
      this.servers = servers;
      this.weights = new int[servers.size()];
      this.current = new int[servers.size()];
      int t = 0;
      for (int i = 0; i < weights.length; i++) {
        weights[i] = servers.get(i).weight();
        t += weights[i];
      }
      this.total = t;
    }

    @Override
    public UpstreamServer select(ProxyExchange exchange) {
      if (weights.length == 1) {
        return servers.get(0);
      }
      int best;
      synchronized (this) {
        best = 0;
        for (int i = 0; i < weights.length; i++) {
          current[i] += weights[i];
          if (current[i] > current[best]) {
            best = i;
          }
        }
        current[best] -= total;
      }
      return servers.get(best);
    }
  }
}
