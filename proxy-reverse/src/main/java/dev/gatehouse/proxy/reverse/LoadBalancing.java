package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyExchange;
import java.util.List;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * How an {@link UpstreamGroup} chooses a server for each try of a request. The factories give the
 * usual policies; implement the interface to plug in your own.
 *
 * <p>Whatever the policy, the group only offers servers that can take the request: not unhealthy,
 * ejected, draining or at their concurrency limit, and (for a retry) not tried already for this request.
 * A policy sees that through the {@code usable} test of {@link Selector#select}, so it only decides
 * among the servers the group allows.
 *
 * <p><b>Writing a policy.</b> {@link #selector} is called when the group is built and again after every
 * change of its server list ({@link UpstreamGroup#addServer}, {@link UpstreamGroup#removeServer},
 * {@link UpstreamGroup#setWeight}, {@link UpstreamGroup#setServers}), never per request: precompute
 * there. {@link Selector#select} runs on an I/O thread for every try, concurrently on several threads:
 * it must be thread-safe, fast, and must never block. A pick that is not one of the servers given to
 * {@code selector} or that {@code usable} refuses fails the request with 500 (and a log line naming the
 * policy), as does an exception; return null when no server is usable (the client gets 503).
 *
 * <pre>{@code
 * // requests with "X-Canary: 1" go to the last server of the group, the others to the rest in turn
 * LoadBalancing canary = servers -> {
 *   LoadBalancing.Server last = servers.get(servers.size() - 1);
 *   AtomicInteger next = new AtomicInteger();
 *   return (exchange, usable) -> {
 *     if (exchange.request().headers().get("X-Canary").isPresent() && usable.test(last)) {
 *       return last;
 *     }
 *     for (int i = 0; i < servers.size(); i++) {
 *       LoadBalancing.Server s = servers.get(Math.floorMod(next.getAndIncrement(), servers.size()));
 *       if (s != last && usable.test(s)) {
 *         return s;
 *       }
 *     }
 *     return null;
 *   };
 * };
 * UpstreamGroup.builder().add(...).loadBalancing(canary).build();
 * }</pre>
 */
@FunctionalInterface
public interface LoadBalancing {

  /**
   * Makes the selector for one version of a group's server list.
   *
   * @param servers the group's servers in the order added, never empty; the same objects are passed to
   *     {@link Selector#select}'s {@code usable} test and are what it must return
   * @return the selector used for requests until the list changes again
   */
  Selector selector(List<Server> servers);

  /** One server of a group, as a policy sees it. Implemented by the group only. */
  sealed interface Server permits Member {

    /** The server's URI as added, {@code scheme://host:port}; stable across weight changes. */
    String uri();

    /** Its weight, 1-1000. */
    int weight();

    /** Requests it is serving now, through this proxy (sent and not yet completely answered). */
    int activeRequests();
  }

  /** Chooses the server of one try. */
  @FunctionalInterface
  interface Selector {

    /**
     * Chooses a server for a try of {@code exchange}'s request. Runs on an I/O thread: must be
     * thread-safe and must not block.
     *
     * @param exchange the request being sent (method, path, headers, client address)
     * @param usable accepts the servers that can take this try
     * @return one of the servers given to {@link LoadBalancing#selector} that {@code usable} accepts,
     *     or null when it accepts none
     */
    @Nullable Server select(ProxyExchange exchange, Predicate<Server> usable);
  }

  /** Each server in turn, ignoring weights. */
  static LoadBalancing roundRobin() {
    return new Balancers.Named("roundRobin", Balancers.RoundRobin::new);
  }

  /**
   * Smooth weighted round robin, as nginx's {@code weight=}: over any window of total-weight requests
   * each server gets exactly its weight's share, interleaved rather than in bursts (weights 5, 1, 1
   * give a a b a c a a, not a a a a a b c). The default.
   */
  static LoadBalancing weightedRoundRobin() {
    return new Balancers.Named("weightedRoundRobin", Balancers.SmoothWeighted::new);
  }

  /**
   * Weighted least connections (nginx's {@code least_conn}): the server with the fewest requests in
   * flight relative to its weight; ties are broken by smooth weighted round robin. Good when request
   * costs vary.
   */
  static LoadBalancing leastConnections() {
    return new Balancers.Named("leastConnections", Balancers.LeastConnections::new);
  }

  /**
   * Power of two random choices: two servers picked at random (in proportion to weight), the one with
   * fewer requests in flight per weight wins. Nearly as good as least connections with no shared hot
   * spot, and it avoids herding onto a server that just became free.
   */
  static LoadBalancing powerOfTwoChoices() {
    return new Balancers.Named("powerOfTwoChoices", Balancers.PowerOfTwo::new);
  }

  /**
   * Consistent hashing on the client's address ({@link ProxyExchange#realClientIp()}, so behind a
   * trusted load balancer the forwarded address): a client keeps going to the same server, and adding
   * or removing one of N servers moves only about 1/N of the clients.
   */
  static LoadBalancing consistentHashByClientAddress() {
    return new Balancers.Named("consistentHash(clientAddress)",
        m -> new Balancers.Ring(m, ProxyExchange::realClientIp));
  }

  /**
   * Consistent hashing on the first value of a request header (e.g. {@code X-User-Id}); requests
   * without it go to a server chosen at random in proportion to weight.
   */
  static LoadBalancing consistentHashByHeader(String name) {
    String n = Checks.token("consistentHashByHeader", name, "a token such as X-User-Id");
    return new Balancers.Named("consistentHash(header " + n + ")",
        m -> new Balancers.Ring(m, ex -> ex.request().headers().get(n).orElse(null)));
  }

  /**
   * Consistent hashing on a cookie's value (e.g. a session id); requests without it go to a server
   * chosen at random in proportion to weight. To have the proxy set the cookie itself, see {@link
   * UpstreamGroup.Builder#stickySessions(String)}.
   */
  static LoadBalancing consistentHashByCookie(String name) {
    String n = Checks.token("consistentHashByCookie", name, "a token such as X-User-Id");
    return new Balancers.Named("consistentHash(cookie " + n + ")",
        m -> new Balancers.Ring(m, ex -> Cookies.get(ex, n)));
  }

  /** Consistent hashing on the request path (without query), e.g. for cache affinity. */
  static LoadBalancing consistentHashByPath() {
    return new Balancers.Named("consistentHash(path)", m -> new Balancers.Ring(m, ex -> ex.request().path()));
  }
}
