package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.spi.CacheStep;
import dev.gatehouse.proxy.spi.CallOptions;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One immutable version of the reverse proxy's routes: the routes in matching order, each with its
 * call options resolved against the proxy and its retry budget, and the groups they use (each once).
 * An exchange reads the current version once, when it matches, and keeps it to its end.
 *
 * <p>An exchange holds the version it matched against ({@link #enter}) until its response head or
 * failure, so everything between the match and the last try's choice of a server (route filters, the
 * cache, retries) runs while the version is held. Once a version is replaced ({@link #supersede}) and no
 * exchange holds it any more, it is drained: it can be held no more, so no exchange can choose a server
 * of its groups from then on ({@link RouteSwitch} closes their pools only after that).
 */
final class RouteSet {
  /** {@link #holders} once drained. */
  private static final int DRAINED = -1;

  final List<Route> routes;
  final List<UpstreamGroup> groups;
  private final Map<Route, Forwarding.RouteRuntime> runtimes;
  /** Per route: the cache step in front of its upstream, when the route is cached. */
  private final Map<Route, CacheStep> caches;
  /** Exchanges holding this version now, or {@link #DRAINED}. */
  private final AtomicInteger holders = new AtomicInteger();
  private volatile boolean superseded;

  private RouteSet(List<Route> routes, List<UpstreamGroup> groups, Map<Route, Forwarding.RouteRuntime> runtimes,
      Map<Route, CacheStep> caches) {
    this.routes = routes;
    this.groups = groups;
    this.runtimes = runtimes;
    this.caches = caches;
  }

  /**
   * Resolves {@code routes}; a route that is also in {@code previous} (the same object) keeps its
   * runtime, and so its retry budget.
   */
  static RouteSet of(List<Route> routes, ProxyRuntime runtime, RouteSet previous, HttpCache proxyCache) {
    Map<Route, Forwarding.RouteRuntime> runtimes = new IdentityHashMap<>();
    Map<Route, CacheStep> caches = new IdentityHashMap<>();
    List<UpstreamGroup> groups = new ArrayList<>();
    for (Route r : routes) {
      Forwarding.RouteRuntime kept = previous == null ? null : previous.runtimes.get(r);
      if (kept != null) {
        runtimes.put(r, kept);
      } else {
        RetryPolicy p = r.retryPolicy();
        CallOptions o = new CallOptions(r.connectTimeout(), r.readTimeout(), r.writeTimeout(), p.tryTimeout(), 0,
            r.group().poolSettings(runtime.defaultPool()), null, true);
        java.time.Duration readTimeout = r.readTimeout() != null ? r.readTimeout() : runtime.readTimeout();
        java.time.Duration window = p.deadline() != null ? p.deadline() : readTimeout;
        runtimes.put(r, new Forwarding.RouteRuntime(o, new RetryBudget(p.budgetRatio(), p.minRetriesPerSecond()),
            window.toNanos()));
      }
      HttpCache c = r.noCache() ? null : r.cache() != null ? r.cache() : proxyCache;
      if (c != null) {
        caches.put(r, runtime.cacheStep(c));
      }
      if (!containsSame(groups, r.group())) {
        groups.add(r.group());
      }
    }
    return new RouteSet(List.copyOf(routes), List.copyOf(groups), runtimes, caches);
  }

  /**
   * Holds this version for an exchange (give it back with {@link #exit}).
   *
   * @return false when the version is drained (superseded and held by none): read the current one again
   */
  boolean enter() {
    for (;;) {
      int n = holders.get();
      if (n == DRAINED) {
        return false;
      }
      if (holders.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** Gives back a hold taken by {@link #enter}. */
  void exit() {
    if (holders.decrementAndGet() == 0 && superseded) {
      holders.compareAndSet(0, DRAINED);
    }
  }

  /** Marks this version replaced: it is drained as soon as no exchange holds it (at once when none does). */
  void supersede() {
    superseded = true;
    holders.compareAndSet(0, DRAINED);
  }

  /** Whether this version is superseded and held by no exchange: it can be held no more. */
  boolean drained() {
    return holders.get() == DRAINED;
  }

  Forwarding.RouteRuntime runtime(Route route) {
    return runtimes.get(route);
  }

  /** The route's cache step, or null when the route is not cached. */
  CacheStep cache(Route route) {
    return caches.get(route);
  }

  /** Whether {@code group} (this very object) is used by one of the routes. */
  boolean uses(UpstreamGroup group) {
    return containsSame(groups, group);
  }

  static boolean containsSame(List<UpstreamGroup> groups, UpstreamGroup g) {
    for (UpstreamGroup x : groups) {
      if (x == g) {
        return true;
      }
    }
    return false;
  }

  /**
   * Checks routes given to the proxy: none is null, none can never match because an earlier one has
   * the same conditions.
   *
   * @throws IllegalStateException naming the route that repeats an earlier one's conditions
   */
  static void checkDistinct(List<Route> routes) {
    for (int i = 0; i < routes.size(); i++) {
      java.util.Objects.requireNonNull(routes.get(i), "route");
      for (int j = 0; j < i; j++) {
        if (routes.get(i).matcher().equals(routes.get(j).matcher())) {
          throw new IllegalStateException("route " + routes.get(i).matcher() + " is already mapped to "
              + routes.get(j).group() + " (expected: each route's conditions added once)");
        }
      }
    }
  }
}
