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
 * and, once their requests in flight are done, closes their connection pools (unless a group still in
 * use shares them). Also the reverse proxy's part of {@link ProxyStatus}.
 */
final class RouteSwitch implements StatusContributor {
  private static final Logger log = LoggerFactory.getLogger(RouteSwitch.class);
  private static final long DRAIN_CHECK_MILLIS = 50;

  private final ProxyRuntime engine;
  private final RouteTable table;
  private final Object lock = new Object();
  /** The groups attached now (those of the current set), with their state-change observer. */
  private final Map<UpstreamGroup, Consumer<HealthEvent>> attached = new IdentityHashMap<>();
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
      next = table.resolve(routes, table.current());
      for (UpstreamGroup g : next.groups) {
        if (!attached.containsKey(g)) {
          attach(g);
        }
      }
      table.current(next); // the swap: exchanges from now on match against the new routes
      for (UpstreamGroup g : new ArrayList<>(attached.keySet())) {
        if (!next.uses(g)) {
          detach(g);
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
   * Waits on an I/O thread until the removed groups' requests in flight are done (or the grace period
   * has passed), then closes the pools no group in use shares. Their exchanges, if any are left,
   * finish on their connections, which close instead of going back to a pool.
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
      int active = 0;
      for (UpstreamGroup g : groups) {
        for (ServerStatus s : g.status()) {
          active += s.activeRequests();
        }
      }
      if (active > 0 && System.nanoTime() - deadlineNanos < 0) {
        check();
        return;
      }
      retire();
    }

    private void retire() {
      Set<List<Object>> inUse = new HashSet<>();
      synchronized (lock) {
        for (UpstreamGroup g : attached.keySet()) {
          PoolSettings settings = g.poolSettings(engine.defaultPool());
          for (ServerStatus s : g.status()) {
            inUse.add(List.of(Endpoint.of(URI.create(s.uri())).key(), settings));
          }
        }
        for (UpstreamGroup g : groups) {
          if (attached.containsKey(g)) {
            continue; // back in use since
          }
          int closed = 0;
          PoolSettings settings = g.poolSettings(engine.defaultPool());
          for (ServerStatus s : g.status()) {
            Endpoint e = Endpoint.of(URI.create(s.uri()));
            if (!inUse.contains(List.of(e.key(), settings)) && engine.retirePool(e, settings)) {
              closed++;
            }
          }
          log.info("upstream group {} no longer used: drained, {} connection pool(s) closed", g.name(), closed);
        }
      }
      engine.topologyChanged();
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
