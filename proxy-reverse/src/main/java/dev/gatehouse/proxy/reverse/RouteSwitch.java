package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.events.ServerStateChange;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.IoThread;
import dev.gatehouse.proxy.spi.PoolSettings;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import dev.gatehouse.proxy.spi.StatusContributor;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ties a {@link RouteTable}'s groups to its proxy and swaps its routes at runtime: groups in use are
 * health-checked while the proxy runs and report their state changes to its listeners; a swap attaches
 * the new groups, publishes the new {@link RouteSet} in one write, detaches the groups no longer used
 * and closes their connection pools once no exchange can use them any more: every older version of the
 * routes that has the group is drained (so no exchange can still choose one of its servers, see {@link
 * RouteSet}) and its requests in flight are done, or the grace period has passed. A pool that a group
 * in use or still draining shares stays open. Also the reverse proxy's part of {@link ProxyStatus}.
 */
final class RouteSwitch implements StatusContributor {
  private static final Logger log = LoggerFactory.getLogger(RouteSwitch.class);
  private static final long DRAIN_CHECK_MILLIS = 50;

  private final ProxyRuntime engine;
  private final RouteTable table;
  private final Object lock = new Object();
  /** The groups attached now (those of the current set), with their state-change observer. */
  private final Map<UpstreamGroup, Consumer<HealthEvent>> attached = new IdentityHashMap<>();
  /** Groups no longer used by the current routes whose pools are not closed yet. */
  private final Set<UpstreamGroup> draining = Collections.newSetFromMap(new IdentityHashMap<>());
  /** Replaced versions of the routes that exchanges may still hold. */
  private final List<RouteSet> superseded = new ArrayList<>();
  private boolean started;
  private boolean stopped;

  RouteSwitch(ProxyRuntime engine, RouteTable table, RouteSet first) {
    this.engine = engine;
    this.table = table;
    synchronized (lock) {
      for (UpstreamGroup g : first.groups) {
        attach(g);
      }
      table.current(first);
    }
    engine.onStart(this::started);
    engine.onClose(this::stopped);
    engine.addStatusContributor(this);
  }

  private void attach(UpstreamGroup g) {
    g.bindClock(engine);
    Consumer<HealthEvent> observer = e -> engine.serverStateChanged(
        new ServerStateChange(e.group(), e.server(), e.from().name(), e.to().name(), e.reason()));
    attached.put(g, observer);
    g.observe(observer);
    if (started) {
      g.engineStarted(engine);
    }
  }

  private void detach(UpstreamGroup g) {
    Consumer<HealthEvent> observer = attached.remove(g);
    if (observer != null) {
      g.unobserve(observer);
    }
    if (started) {
      g.engineStopped(engine);
    }
  }

  private void started() {
    synchronized (lock) {
      started = true;
      for (UpstreamGroup g : attached.keySet()) {
        g.engineStarted(engine);
      }
    }
  }

  private void stopped() {
    synchronized (lock) {
      for (UpstreamGroup g : new ArrayList<>(attached.keySet())) {
        detach(g);
      }
      stopped = true;
      started = false;
    }
  }

  /** Replaces the routes; see {@link ReverseProxyServer#routes(List)}. */
  void replace(List<Route> routes) {
    if (routes.isEmpty()) {
      throw new IllegalArgumentException("routes: [] (expected: at least one route)");
    }
    RouteSet.checkDistinct(routes);
    List<UpstreamGroup> removed = new ArrayList<>();
    RouteSet next;
    boolean running;
    synchronized (lock) {
      if (stopped) {
        throw new IllegalStateException("proxy closed (expected: routes replaced before or while it runs)");
      }
      RouteSet previous = table.current();
      next = table.resolve(routes, previous);
      for (UpstreamGroup g : next.groups) {
        if (!attached.containsKey(g)) {
          attach(g);
        }
        draining.remove(g); // back in use before its pools were closed
      }
      table.current(next); // the swap: exchanges from now on match against the new routes
      previous.supersede(); // drained once the exchanges that matched against it have chosen their servers
      superseded.removeIf(RouteSet::drained);
      if (started) {
        superseded.add(previous);
      }
      for (UpstreamGroup g : new ArrayList<>(attached.keySet())) {
        if (!next.uses(g)) {
          detach(g);
          if (started) { // before the start no exchange ran and no pool was made
            draining.add(g);
          }
          removed.add(g);
        }
      }
      running = started;
    }
    log.info("reverse proxy: routes replaced ({} routes, {} groups{})", next.routes.size(), next.groups.size(),
        removed.isEmpty() ? "" : "; " + removed.size() + " group(s) no longer used drain and close");
    engine.topologyChanged();
    if (running && !removed.isEmpty()) {
      new Drain(removed).check();
    }
  }

  /**
   * Waits on an I/O thread until no exchange can use the removed groups any more (or the grace period
   * has passed), then closes the pools no group in use or still draining shares. Exchanges streaming a
   * response body then finish on their connections, which close instead of going back to a pool.
   */
  private final class Drain implements Runnable {
    private final List<UpstreamGroup> groups;
    private final long deadlineNanos;

    Drain(List<UpstreamGroup> groups) {
      this.groups = groups;
      this.deadlineNanos = System.nanoTime() + engine.shutdownGracePeriod().toNanos();
    }

    void check() {
      IoThread t = engine.ioThread();
      if (t == null) {
        return; // closing: the proxy closes every pool itself
      }
      try {
        t.schedule(this, DRAIN_CHECK_MILLIS, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) {
        // the worker is shutting down
      }
    }

    @Override
    public void run() {
      if (engine.ioThread() == null) {
        return;
      }
      boolean waiting = false;
      boolean retired = false;
      synchronized (lock) {
        superseded.removeIf(RouteSet::drained);
        boolean late = System.nanoTime() - deadlineNanos >= 0;
        List<UpstreamGroup> ready = new ArrayList<>();
        for (UpstreamGroup g : groups) {
          if (!draining.contains(g)) {
            continue; // back in use, or retired by a later drain
          }
          int active = active(g);
          if (late || (active == 0 && !heldElsewhere(g))) {
            ready.add(g);
            if (active > 0) {
              log.warn("upstream group {} no longer used: {} request(s) still in flight after the grace period {}",
                  g.name(), active, engine.shutdownGracePeriod());
            }
          } else {
            waiting = true;
          }
        }
        draining.removeAll(ready);
        if (!ready.isEmpty()) {
          retire(ready);
          retired = true;
        }
      }
      if (retired) {
        engine.topologyChanged();
      }
      if (waiting) {
        check();
      }
    }

    /** Whether a replaced version of the routes that an exchange still holds has {@code g}. */
    private boolean heldElsewhere(UpstreamGroup g) {
      for (RouteSet r : superseded) {
        if (r.uses(g)) {
          return true;
        }
      }
      return false;
    }

    private static int active(UpstreamGroup g) {
      int n = 0;
      for (ServerStatus s : g.status()) {
        n += s.activeRequests();
      }
      return n;
    }

    /** Under the lock: closes the pools of {@code ready} that no group attached or draining shares. */
    private void retire(List<UpstreamGroup> ready) {
      Set<List<Object>> inUse = new HashSet<>();
      List<UpstreamGroup> users = new ArrayList<>(attached.keySet());
      users.addAll(draining);
      for (UpstreamGroup g : users) {
        PoolSettings settings = g.poolSettings(engine.defaultPool());
        for (ServerStatus s : g.status()) {
          inUse.add(List.of(Endpoint.of(URI.create(s.uri())).key(), settings));
        }
      }
      for (UpstreamGroup g : ready) {
        int closed = 0;
        PoolSettings settings = g.poolSettings(engine.defaultPool());
        for (ServerStatus s : g.status()) {
          Endpoint e = Endpoint.of(URI.create(s.uri()));
          if (inUse.add(List.of(e.key(), settings)) && engine.retirePool(e, settings)) {
            closed++;
          }
        }
        log.info("upstream group {} no longer used: drained, {} connection pool(s) closed", g.name(), closed);
      }
    }
  }

  // ---------------------------------------------------------------- status

  @Override
  public List<ProxyStatus.Route> routes() {
    List<ProxyStatus.Route> out = new ArrayList<>();
    for (Route r : table.current().routes) {
      out.add(new ProxyStatus.Route(r.name(), r.matcher().toString(), r.group().name()));
    }
    return out;
  }

  static ProxyStatus.Group groupStatus(UpstreamGroup g) {
    int max = g.maxConcurrentRequestsPerServer();
    List<ProxyStatus.Server> servers = new ArrayList<>();
    for (ServerStatus s : g.status()) {
      boolean circuitOpen = max > 0 && s.state() == ServerState.AVAILABLE && s.activeRequests() >= max;
      servers.add(new ProxyStatus.Server(s.uri(), s.weight(), s.state().name(), s.activeRequests(),
          s.consecutiveFailures(), s.ejections(), circuitOpen));
    }
    return new ProxyStatus.Group(g.name(), g.loadBalancingName(), servers);
  }

  @Override
  public List<ProxyStatus.Group> groups() {
    List<ProxyStatus.Group> out = new ArrayList<>();
    for (UpstreamGroup g : table.current().groups) {
      out.add(groupStatus(g));
    }
    return out;
  }
}
