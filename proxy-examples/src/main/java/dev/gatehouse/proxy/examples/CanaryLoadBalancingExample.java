package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.reverse.LoadBalancing;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.Route;
import dev.gatehouse.proxy.reverse.UpstreamGroup;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A load-balancing policy of your own: a canary release. The last server of the group is the canary;
 * it gets every request that asks for it ({@code X-Canary: always}) and one in ten of the others, the
 * stable servers share the rest in turn. The policy only decides among the servers the group offers
 * ({@code usable}): when the canary is down, out of its limits or already tried for a retry, its
 * requests go to a stable server, and the other way round.
 */
public final class CanaryLoadBalancingExample {
  private CanaryLoadBalancingExample() {}

  /** The canary policy: called again whenever the group's server list changes. */
  static final LoadBalancing CANARY = new LoadBalancing() {
    @Override
    public Selector selector(List<Server> servers) {
      Server canary = servers.get(servers.size() - 1);
      List<Server> stable = servers.subList(0, servers.size() - 1);
      AtomicLong counter = new AtomicLong();
      return (exchange, usable) -> {
        long n = counter.getAndIncrement();
        boolean wantsCanary = exchange.request().headers().get("X-Canary").filter("always"::equals).isPresent()
            || n % 10 == 0 || stable.isEmpty();
        if (wantsCanary && usable.test(canary)) {
          return canary;
        }
        for (int i = 0; i < stable.size(); i++) {   // round robin over the stable servers that can take it
          Server s = stable.get((int) ((n + i) % stable.size()));
          if (usable.test(s)) {
            return s;
          }
        }
        return usable.test(canary) ? canary : null;  // null: no server can take it, the client gets 503
      };
    }

    @Override
    public String toString() {
      return "canary";
    }
  };

  public static void main(String[] args) throws Exception {
    DemoBackends apps = DemoBackends.start("stable-1", "stable-2", "canary");
    UpstreamGroup backend = UpstreamGroup.builder()
        .name("backend")
        .add(apps.url(0))
        .add(apps.url(1))
        .add(apps.url(2))                                   // last: the canary
        .loadBalancing(CANARY)
        .build();
    ProxyServer proxy = ReverseProxy.builder()
        .port(Integer.parseInt(System.getenv().getOrDefault("PORT", "8080")))
        .addRoute(Route.any().to(backend))
        .build()
        .start();

    String base = "http://127.0.0.1:" + proxy.port();
    System.out.println("CanaryLoadBalancingExample on " + base + " -> " + backend);
    System.out.println("  for i in $(seq 20); do curl -s " + base + "/ | head -1; done | sort | uniq -c");
    System.out.println("  curl -s -H 'X-Canary: always' " + base + "/ | head -1");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      apps.close();
      stop.countDown();
    }));
    stop.await();
  }
}
