package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.events.AttemptOutcome;
import dev.gatehouse.proxy.events.ConnectionInfo;
import dev.gatehouse.proxy.events.Decisions;
import dev.gatehouse.proxy.events.ExchangeInfo;
import dev.gatehouse.proxy.events.ExchangeOutcome;
import dev.gatehouse.proxy.events.ProxyListener;
import dev.gatehouse.proxy.events.ServerStateChange;
import dev.gatehouse.proxy.events.TlsHandshake;
import dev.gatehouse.proxy.events.UpstreamAttempt;
import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.metrics.MetricsOptions;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The Micrometer binder: a {@link ProxyListener} that turns events into meters (see {@link
 * MetricsOptions} for the list). The per-exchange path does no string work and no allocation once a
 * route's meters exist: meters are resolved per route (or group and server) into arrays indexed by
 * method, status class and outcome. Gauges over servers and pools read a status snapshot at most once a
 * second; the set of servers and pools they cover is refreshed when routes change, every few seconds,
 * and before each admin scrape.
 *
 * <p>Why one class of this size: it is the one place that names every meter, so the list in {@link
 * MetricsOptions} can be checked against it.
 */
public final class MicrometerBinder implements ProxyListener {
  static final String[] METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
      "other"};
  static final String[] STATUS = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
  private static final ExchangeOutcome[] OUTCOMES = ExchangeOutcome.values();
  private static final AttemptOutcome[] ATTEMPT_OUTCOMES = AttemptOutcome.values();
  private static final String NONE = "none";
  private static final long REFRESH_MILLIS = 5000;
  private static final long SNAPSHOT_NANOS = 1_000_000_000L;
  /** Most distinct decision counters (kind x outcome) and egress reasons kept apart; more go to "other". */
  private static final int MAX_DECISION_SERIES = 200;

  private final MeterRegistry registry;
  private final Telemetry telemetry;
  private final boolean histograms;
  /** Pools are per destination (a forward proxy): unbounded, so summed up. */
  private final boolean perDestination;
  private final Tags common;
  private final ConcurrentHashMap<String, RouteMeters> routes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, ConcurrentHashMap<String, AttemptMeters>> attempts = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> retries = new ConcurrentHashMap<>();
  /** kind, then outcome, then detail (egress rule or group; empty for other kinds): no string built per event. */
  private final ConcurrentHashMap<String, ConcurrentHashMap<String, ConcurrentHashMap<String, Counter>>> decisions =
      new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicInteger decisionSeries = new java.util.concurrent.atomic.AtomicInteger();
  private final Counter connectionsOpened;
  private final Counter tlsSuccess;
  private final Counter tlsFailure;
  private final Counter tunnelsConnect;
  /** Per limit (connections, connections-per-ip, exchanges): made on the first refusal. */
  private final ConcurrentHashMap<String, Counter> limitRejections = new ConcurrentHashMap<>();
  private final Counter tunnelsUpgrade;
  private final Counter tunnelBytesUp;
  private final Counter tunnelBytesDown;
  private final LongAdder activeTunnels = new LongAdder();
  private final List<Meter> gauges = new ArrayList<>();
  private final MultiGauge serverState;
  private final MultiGauge serverActive;
  private final MultiGauge serverCircuit;
  private final MultiGauge poolConnections;
  private final MultiGauge poolPending;
  private volatile Snapshot snapshot = new Snapshot(null, 0);
  private final AtomicLong lastRowsHash = new AtomicLong(Long.MIN_VALUE);
  private volatile boolean closed;

  public MicrometerBinder(MeterRegistry registry, MetricsOptions options, Telemetry telemetry) {
    this.registry = registry;
    this.telemetry = telemetry;
    this.histograms = options.histograms();
    this.perDestination = "forward".equals(telemetry.engine().config().kind());
    this.common = Tags.of(options.tags().toArray(new String[0]));
    this.connectionsOpened = counter("gatehouse.connections", "Client connections opened (that sent a request)");
    this.tlsSuccess = counter("gatehouse.tls.handshakes", "TLS handshakes with clients", "result", "success");
    this.tlsFailure = counter("gatehouse.tls.handshakes", "TLS handshakes with clients", "result", "failure");
    this.tunnelsConnect = counter("gatehouse.tunnels", "Tunnels opened", "kind", "connect");
    this.tunnelsUpgrade = counter("gatehouse.tunnels", "Tunnels opened", "kind", "upgrade");
    this.tunnelBytesUp = Counter.builder("gatehouse.tunnel.bytes").baseUnit("bytes")
        .description("Bytes carried by tunnels").tags(common).tag("direction", "upstream").register(registry);
    this.tunnelBytesDown = Counter.builder("gatehouse.tunnel.bytes").baseUnit("bytes")
        .description("Bytes carried by tunnels").tags(common).tag("direction", "downstream").register(registry);
    gauges.add(Gauge.builder("gatehouse.requests.active", telemetry, Telemetry::activeExchanges)
        .description("Exchanges in flight").tags(common).register(registry));
    gauges.add(Gauge.builder("gatehouse.connections.active", telemetry, Telemetry::activeConnections)
        .description("Client connections open (that sent a request)").tags(common).register(registry));
    gauges.add(Gauge.builder("gatehouse.tunnels.active", activeTunnels, LongAdder::sum)
        .description("Tunnels open").tags(common).register(registry));
    this.serverState = MultiGauge.builder("gatehouse.upstream.server.state")
        .description("1 for the state each upstream server is in, 0 for the others").tags(common).register(registry);
    this.serverActive = MultiGauge.builder("gatehouse.upstream.server.active")
        .description("Requests each upstream server is serving").tags(common).register(registry);
    this.serverCircuit = MultiGauge.builder("gatehouse.upstream.server.circuit.open")
        .description("1 while an upstream server is at its concurrency limit").tags(common).register(registry);
    this.poolConnections = MultiGauge.builder("gatehouse.upstream.connections")
        .description("Connections open to each upstream, in use (active) or idle").tags(common).register(registry);
    this.poolPending = MultiGauge.builder("gatehouse.upstream.pending")
        .description("Requests queued for a connection to each upstream").tags(common).register(registry);
  }

  /** Binds a new binder to {@code engine}: listener, gauge refresh while it runs, gauges removed at close. */
  public static MicrometerBinder bind(Engine engine, MeterRegistry registry, MetricsOptions options) {
    Telemetry t = engine.telemetry();
    MicrometerBinder b = new MicrometerBinder(registry, options, t);
    t.addListener(b);
    t.addTopologyListener(b::refreshRows);
    t.meterRegistry(registry, b::refreshRows);
    engine.addStartHook(() -> {
      b.refreshRows();
      b.scheduleRefresh(engine);
    });
    engine.addCloseHook(b::close);
    return b;
  }

  private Counter counter(String name, String description, String... tags) {
    return Counter.builder(name).description(description).tags(common).tags(tags).register(registry);
  }

  // ---------------------------------------------------------------- exchanges

  /** Meters of one route, resolved once and filled lazily. */
  private final class RouteMeters {
    final String route;
    final AtomicReferenceArray<Timer> timers = new AtomicReferenceArray<>(METHODS.length * STATUS.length * OUTCOMES.length);
    final Counter requestBytes;
    final Counter responseBytes;

    RouteMeters(String route) {
      this.route = route;
      this.requestBytes = Counter.builder("gatehouse.request.body.bytes").baseUnit("bytes")
          .description("Request body bytes read from clients").tags(common).tag("route", route).register(registry);
      this.responseBytes = Counter.builder("gatehouse.response.body.bytes").baseUnit("bytes")
          .description("Response body bytes written to clients").tags(common).tag("route", route).register(registry);
    }

    Timer timer(int method, int status, int outcome) {
      int i = (method * STATUS.length + status) * OUTCOMES.length + outcome;
      Timer t = timers.get(i);
      if (t == null) {
        t = Timer.builder("gatehouse.requests").description("Exchanges, from request head to the end of the response")
            .tags(common).tags("route", route, "method", METHODS[method], "status", STATUS[status],
                "outcome", OUTCOMES[outcome].tag())
            .publishPercentileHistogram(histograms)
            .register(registry);
        timers.set(i, t);
      }
      return t;
    }
  }

  private RouteMeters route(String name) {
    String key = name == null ? NONE : name;
    RouteMeters m = routes.get(key);
    if (m == null) {
      m = routes.computeIfAbsent(key, RouteMeters::new);
    }
    return m;
  }

  @Override
  public void exchangeEnded(ExchangeInfo exchange) {
    ObservedExchange o = (ObservedExchange) exchange;
    RouteMeters m = route(o.route);
    ExchangeOutcome outcome = o.outcome;
    m.timer(methodIndex(o.ex.request().method()), statusIndex(o.status()), outcome.ordinal())
        .record(o.endNanos - o.ex.startNanos(), TimeUnit.NANOSECONDS);
    if (outcome != ExchangeOutcome.TUNNEL) {
      long in = o.ex.requestBodyBytes();
      long out = o.ex.responseBodyBytes();
      if (in > 0) {
        m.requestBytes.increment(in);
      }
      if (out > 0) {
        m.responseBytes.increment(out);
      }
    }
  }

  static int methodIndex(String method) {
    switch (method) {
      case "GET": return 0;
      case "HEAD": return 1;
      case "POST": return 2;
      case "PUT": return 3;
      case "DELETE": return 4;
      case "PATCH": return 5;
      case "OPTIONS": return 6;
      case "CONNECT": return 7;
      case "TRACE": return 8;
      default: return 9;
    }
  }

  static int statusIndex(int status) {
    return status >= 100 && status < 600 ? status / 100 : 0;
  }

  // ---------------------------------------------------------------- upstream attempts

  /** Meters of one server of one group. */
  private final class AttemptMeters {
    final String group;
    final String server;
    final AtomicReferenceArray<Timer> timers = new AtomicReferenceArray<>(ATTEMPT_OUTCOMES.length * STATUS.length);

    AttemptMeters(String group, String server) {
      this.group = group;
      this.server = server;
    }

    Timer timer(int outcome, int status) {
      int i = outcome * STATUS.length + status;
      Timer t = timers.get(i);
      if (t == null) {
        t = Timer.builder("gatehouse.upstream.attempts")
            .description("Upstream attempts, from the start of the try until its response was read or it failed")
            .tags(common).tags("group", group, "server", server, "outcome", ATTEMPT_OUTCOMES[outcome].tag(),
                "status", STATUS[status])
            .publishPercentileHistogram(histograms)
            .register(registry);
        timers.set(i, t);
      }
      return t;
    }
  }

  @Override
  public void upstreamAttemptEnded(UpstreamAttempt attempt) {
    ObservedAttempt a = (ObservedAttempt) attempt;
    String group = a.group == null ? NONE : a.group;
    String server = a.group == null || a.server == null ? NONE : a.server;
    ConcurrentHashMap<String, AttemptMeters> byServer = attempts.get(group);
    if (byServer == null) {
      byServer = attempts.computeIfAbsent(group, g -> new ConcurrentHashMap<>());
    }
    AttemptMeters m = byServer.get(server);
    if (m == null) {
      m = byServer.computeIfAbsent(server, s -> new AttemptMeters(group, s));
    }
    m.timer(a.outcome.ordinal(), statusIndex(a.status)).record(a.endNanos - a.startNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void upstreamAttemptStarted(UpstreamAttempt attempt) {
    if (attempt.number() > 1) {
      String group = ((ObservedAttempt) attempt).group;
      String key = group == null ? NONE : group;
      Counter c = retries.get(key);
      if (c == null) {
        c = retries.computeIfAbsent(key, g -> counter("gatehouse.upstream.retries",
            "Upstream attempts after the first of an exchange", "group", g));
      }
      c.increment();
    }
  }

  @Override
  public void serverStateChanged(ServerStateChange change) {
    if ("EJECTED".equals(change.to())) {
      counter("gatehouse.upstream.ejections", "Servers ejected by outlier detection", "group", change.group(),
          "server", change.server()).increment();
    }
    refreshRows(); // a removed server drains; an ejected one changes its state gauge
  }

  // ---------------------------------------------------------------- decisions

  @Override
  public void decision(ExchangeInfo exchange, String kind, String outcome, String detail) {
    String d = Decisions.EGRESS.equals(kind) || Decisions.UPSTREAM.equals(kind) ? detail : "";
    ConcurrentHashMap<String, ConcurrentHashMap<String, Counter>> byOutcome = decisions.get(kind);
    if (byOutcome == null) {
      byOutcome = decisions.computeIfAbsent(kind, k -> new ConcurrentHashMap<>());
    }
    ConcurrentHashMap<String, Counter> byDetail = byOutcome.get(outcome);
    if (byDetail == null) {
      byDetail = byOutcome.computeIfAbsent(outcome, k -> new ConcurrentHashMap<>());
    }
    Counter c = byDetail.get(d);
    if (c == null) {
      c = decisionCounter(kind, outcome, d);
      if (decisionSeries.incrementAndGet() <= MAX_DECISION_SERIES * 4) {
        byDetail.putIfAbsent(d, c); // egress rules naming addresses could be many: stop caching them
      }
    }
    c.increment();
  }

  private Counter decisionCounter(String kind, String outcome, String detail) {
    boolean full = decisionSeries.get() >= MAX_DECISION_SERIES;
    switch (kind) {
      case Decisions.EGRESS:
        return counter("gatehouse.egress.decisions", "Egress policy decisions", "decision", outcome,
            "reason", full ? "other" : ruleKind(detail));
      case Decisions.UPSTREAM:
        return counter("gatehouse.upstream.rejections", "Requests no upstream server could take", "group",
            detail, "reason", outcome);
      case Decisions.CACHE:
        return counter("gatehouse.cache.requests", "Requests seen by a cache", "outcome", full ? "other" : outcome);
      case Decisions.RATE_LIMIT:
        return counter("gatehouse.ratelimit.decisions", "Rate limiter decisions", "outcome", full ? "other" : outcome);
      case Decisions.AUTH:
        return counter("gatehouse.auth.decisions", "Authentication decisions", "outcome", full ? "other" : outcome);
      default:
        return counter("gatehouse.filter.decisions", "Other filters' decisions", "kind", full ? "other" : kind,
            "outcome", full ? "other" : outcome);
    }
  }

  /**
   * The kind of an egress rule: its leading words of lower-case letters, e.g. {@code deny address} for
   * {@code deny address 10.0.0.0/8}, {@code loop} for {@code loop: 10.1.2.3:80 is this proxy}.
   */
  static String ruleKind(String rule) {
    int end = 0;
    int words = 0;
    int i = 0;
    while (i < rule.length() && words < 4) {
      int start = i;
      while (i < rule.length() && ((rule.charAt(i) >= 'a' && rule.charAt(i) <= 'z') || rule.charAt(i) == '-')) {
        i++;
      }
      if (i == start) {
        break;
      }
      words++;
      end = i;
      if (i < rule.length() && rule.charAt(i) == ' ') {
        i++;
      } else {
        break;
      }
    }
    return end == 0 ? "other" : rule.substring(0, end);
  }

  // ---------------------------------------------------------------- connections, TLS, tunnels

  @Override
  public void connectionOpened(ConnectionInfo connection) {
    connectionsOpened.increment();
  }

  @Override
  public void limitReached(InetSocketAddress client, String limit) {
    limitRejections.computeIfAbsent(limit, l -> counter("gatehouse.limit.rejections",
        "Clients turned away by a limit that protects the proxy", "limit", l)).increment();
  }

  @Override
  public void tlsHandshake(TlsHandshake handshake) {
    (handshake.succeeded() ? tlsSuccess : tlsFailure).increment();
  }

  @Override
  public void tunnelOpened(ExchangeInfo exchange) {
    activeTunnels.increment();
    ("CONNECT".equals(exchange.request().method()) ? tunnelsConnect : tunnelsUpgrade).increment();
  }

  @Override
  public void tunnelClosed(ExchangeInfo exchange) {
    activeTunnels.decrement();
    long up = exchange.requestBodyBytes();
    long down = exchange.responseBodyBytes();
    if (up > 0) {
      tunnelBytesUp.increment(up);
    }
    if (down > 0) {
      tunnelBytesDown.increment(down);
    }
  }

  // ---------------------------------------------------------------- gauges over servers and pools

  private record Snapshot(ProxyStatus status, long takenNanos) {}

  /** The status, taken at most once a second for all gauge reads of a scrape. */
  private ProxyStatus status() {
    Snapshot s = snapshot;
    long now = System.nanoTime();
    if (s.status == null || now - s.takenNanos > SNAPSHOT_NANOS) {
      s = new Snapshot(telemetry.status(), now);
      snapshot = s;
    }
    return s.status;
  }

  private ProxyStatus.Server server(String group, String uri) {
    for (ProxyStatus.Group g : status().groups()) {
      if (g.name().equals(group)) {
        for (ProxyStatus.Server s : g.servers()) {
          if (s.uri().equals(uri)) {
            return s;
          }
        }
      }
    }
    return null;
  }

  private double poolSum(java.util.function.ToIntFunction<ProxyStatus.Pool> f) {
    long sum = 0;
    for (ProxyStatus.Pool p : status().pools()) {
      sum += f.applyAsInt(p);
    }
    return sum;
  }

  private ProxyStatus.Pool pool(String upstream) {
    for (ProxyStatus.Pool p : status().pools()) {
      if (p.upstream().equals(upstream)) {
        return p;
      }
    }
    return null;
  }

  /** Re-reads which servers and pools exist and registers their gauges; cheap when nothing changed. */
  public void refreshRows() {
    if (closed) {
      return;
    }
    ProxyStatus now = telemetry.status();
    snapshot = new Snapshot(now, System.nanoTime());
    Map<String, Boolean> seen = new HashMap<>();
    long hash = 17;
    for (ProxyStatus.Group g : now.groups()) {
      for (ProxyStatus.Server s : g.servers()) {
        if (seen.put(g.name() + ' ' + s.uri(), Boolean.TRUE) == null) {
          hash = hash * 31 + (g.name() + ' ' + s.uri()).hashCode();
        }
      }
    }
    // a forward proxy's destinations are unbounded: its pools are summed up under upstream="none"
    List<ProxyStatus.Pool> pools = perDestination ? List.of() : now.pools();
    int kept = Math.min(pools.size(), 100);
    for (int i = 0; i < kept; i++) {
      hash = hash * 31 + pools.get(i).upstream().hashCode();
    }
    if (lastRowsHash.getAndSet(hash) == hash) {
      return;
    }
    List<MultiGauge.Row<?>> states = new ArrayList<>();
    List<MultiGauge.Row<?>> active = new ArrayList<>();
    List<MultiGauge.Row<?>> circuit = new ArrayList<>();
    Map<String, Boolean> done = new HashMap<>();
    for (ProxyStatus.Group g : now.groups()) {
      for (ProxyStatus.Server s : g.servers()) {
        if (done.put(g.name() + ' ' + s.uri(), Boolean.TRUE) != null) {
          continue;
        }
        String group = g.name();
        String uri = s.uri();
        Tags tags = Tags.of("group", group, "server", uri);
        for (String state : new String[] {"AVAILABLE", "UNHEALTHY", "EJECTED", "DRAINING"}) {
          states.add(MultiGauge.Row.of(tags.and("state", state), this, b -> {
            ProxyStatus.Server x = b.server(group, uri);
            return x != null && x.state().equals(state) ? 1 : 0;
          }));
        }
        active.add(MultiGauge.Row.of(tags, this, b -> {
          ProxyStatus.Server x = b.server(group, uri);
          return x == null ? 0 : x.activeRequests();
        }));
        circuit.add(MultiGauge.Row.of(tags, this, b -> {
          ProxyStatus.Server x = b.server(group, uri);
          return x != null && x.circuitOpen() ? 1 : 0;
        }));
      }
    }
    List<MultiGauge.Row<?>> connections = new ArrayList<>();
    List<MultiGauge.Row<?>> pending = new ArrayList<>();
    if (perDestination) {
      connections.add(MultiGauge.Row.of(Tags.of("upstream", NONE, "state", "active"), this,
          b -> b.poolSum(p -> p.openConnections() - p.idleConnections())));
      connections.add(MultiGauge.Row.of(Tags.of("upstream", NONE, "state", "idle"), this,
          b -> b.poolSum(ProxyStatus.Pool::idleConnections)));
      pending.add(MultiGauge.Row.of(Tags.of("upstream", NONE), this, b -> b.poolSum(ProxyStatus.Pool::pendingRequests)));
    }
    for (int i = 0; i < kept; i++) {
      String upstream = pools.get(i).upstream();
      connections.add(MultiGauge.Row.of(Tags.of("upstream", upstream, "state", "active"), this, b -> {
        ProxyStatus.Pool p = b.pool(upstream);
        return p == null ? 0 : p.openConnections() - p.idleConnections();
      }));
      connections.add(MultiGauge.Row.of(Tags.of("upstream", upstream, "state", "idle"), this, b -> {
        ProxyStatus.Pool p = b.pool(upstream);
        return p == null ? 0 : p.idleConnections();
      }));
      pending.add(MultiGauge.Row.of(Tags.of("upstream", upstream), this, b -> {
        ProxyStatus.Pool p = b.pool(upstream);
        return p == null ? 0 : p.pendingRequests();
      }));
    }
    serverState.register(states, true);
    serverActive.register(active, true);
    serverCircuit.register(circuit, true);
    poolConnections.register(connections, true);
    poolPending.register(pending, true);
  }

  private void scheduleRefresh(Engine engine) {
    org.xnio.XnioWorker w = engine.worker();
    if (w == null || closed) {
      return;
    }
    try {
      w.getIoThread().executeAfter(() -> {
        if (closed || engine.worker() == null) {
          return;
        }
        try {
          refreshRows();
        } catch (RuntimeException e) {
          org.slf4j.LoggerFactory.getLogger(MicrometerBinder.class).warn("metrics: refreshing gauges failed", e);
        }
        scheduleRefresh(engine);
      }, REFRESH_MILLIS, TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      // the worker is shutting down
    }
  }

  /** The proxy closed: its gauges go (they would read a dead proxy); counters and timers stay. */
  private void close() {
    closed = true;
    serverState.register(List.of(), true);
    serverActive.register(List.of(), true);
    serverCircuit.register(List.of(), true);
    poolConnections.register(List.of(), true);
    poolPending.register(List.of(), true);
    for (Meter g : gauges) {
      registry.remove(g);
    }
  }

  @Override
  public String toString() {
    return "metrics (" + registry.getClass().getSimpleName() + ")";
  }
}
