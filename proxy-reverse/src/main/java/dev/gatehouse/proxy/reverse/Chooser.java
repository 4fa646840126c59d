package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.UpstreamUnavailableException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Chooses the server of each try: the sticky server when the request names one that can take it, else
 * the balancer's pick among the servers that are available and under their concurrency limit, and takes
 * one of its request slots. Ejections that are over are ended here first, so a returning server gets
 * requests at once.
 */
final class Chooser {
  private final String group;
  private final ServerList servers;
  private final OutlierEjection ejection;
  private final String stickyCookie;
  private final int maxConcurrent;
  private final LoadBalancing balancing;
  /** A built-in policy, whose picks need no check. */
  private final boolean trusted;

  /**
   * @param stickyCookie the sticky-session cookie, or null
   * @param maxConcurrent the most requests in flight per server, 0 for no limit
   */
  Chooser(String group, LoadBalancing balancing, ServerList servers, OutlierEjection ejection, String stickyCookie,
      int maxConcurrent) {
    this.balancing = balancing;
    this.trusted = balancing instanceof Balancers.Named;
    this.group = group;
    this.servers = servers;
    this.ejection = ejection;
    this.stickyCookie = stickyCookie;
    this.maxConcurrent = maxConcurrent;
  }

  /**
   * Chooses a server and takes one of its request slots (give it back with {@link #release}). Servers in
   * {@code tried} are left out, unless {@code mayRepeat} and no other server is usable.
   *
   * @throws UpstreamUnavailableException if no server can take the request now
   */
  UpstreamServer choose(ProxyExchange exchange, List<UpstreamServer> tried, boolean mayRepeat, long now) {
    ServerList.Snapshot snap = servers.snapshot();
    ejection.restoreDue(snap, now);
    int max = maxConcurrent;
    if (stickyCookie != null) {
      String id = Cookies.get(exchange, stickyCookie);
      UpstreamServer s = id == null ? null : snap.byId().get(id);
      if (s != null && s.available(now) && (tried == null || !tried.contains(s)) && s.tryAcquire(max)) {
        return s;
      }
    }
    List<UpstreamServer> lost = null;
    for (int round = 0; round <= snap.members().size(); round++) {
      List<UpstreamServer> skip = lost;
      Predicate<LoadBalancing.Server> usable = m -> {
        UpstreamServer s = ((Member) m).server();
        return s.available(now) && (max <= 0 || s.inFlight() < max) && (skip == null || !skip.contains(s));
      };
      UpstreamServer s;
      if (tried == null || tried.isEmpty()) {
        s = select(snap, exchange, usable);
      } else {
        s = select(snap, exchange, usable.and(m -> !tried.contains(((Member) m).server())));
        if (s == null && mayRepeat) {
          s = select(snap, exchange, usable);
        }
      }
      if (s == null) {
        break;
      }
      if (s.tryAcquire(max)) {
        return s;
      }
      if (lost == null) {
        lost = new ArrayList<>(2);
      }
      lost.add(s); // its last slot went to another thread
    }
    throw unavailable(snap, now);
  }

  /**
   * The selector's pick, checked when the policy is not a built-in one.
   *
   * @throws IllegalStateException if a user-written policy picked a server that is not usable
   */
  private UpstreamServer select(ServerList.Snapshot snap, ProxyExchange exchange, Predicate<LoadBalancing.Server> usable) {
    LoadBalancing.Server picked = snap.selector().select(exchange, usable);
    if (picked == null) {
      return null;
    }
    if (!trusted && (!(picked instanceof Member m) || !snap.contains(m) || !usable.test(m))) {
      throw new IllegalStateException("loadBalancing " + balancing + " of upstream group " + group + " chose "
          + picked + " (expected: one of the group's servers that usable accepts, or null)");
    }
    return ((Member) picked).server();
  }

  private UpstreamUnavailableException unavailable(ServerList.Snapshot snap, long now) {
    int unhealthy = 0;
    int ejected = 0;
    int full = 0;
    for (Member m : snap.members()) {
      ServerState st = m.server().state(now);
      if (st == ServerState.UNHEALTHY) {
        unhealthy++;
      } else if (st == ServerState.EJECTED) {
        ejected++;
      } else if (maxConcurrent > 0 && m.server().inFlight() >= maxConcurrent) {
        full++;
      }
    }
    StringBuilder why = new StringBuilder();
    if (unhealthy > 0) {
      why.append(unhealthy).append(" unhealthy");
    }
    if (ejected > 0) {
      why.append(why.length() > 0 ? ", " : "").append(ejected).append(" ejected");
    }
    if (full > 0) {
      why.append(why.length() > 0 ? ", " : "").append(full).append(" at maxConcurrentRequestsPerServer ")
          .append(maxConcurrent).append(" (circuit open)");
    }
    return new UpstreamUnavailableException("upstream group " + group + ": no server available ("
        + snap.members().size() + " servers: " + why + ")");
  }

  /** Gives back a request slot taken by {@link #choose}. */
  void release(UpstreamServer s) {
    s.release();
    servers.released(s);
  }

  /** The most requests in flight per server, 0 for no limit. */
  int maxConcurrentPerServer() {
    return maxConcurrent;
  }
}
