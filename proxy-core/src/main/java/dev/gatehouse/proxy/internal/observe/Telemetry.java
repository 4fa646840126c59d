package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.events.ProxyListener;
import dev.gatehouse.proxy.events.ServerStateChange;
import dev.gatehouse.proxy.events.TlsHandshake;
import dev.gatehouse.proxy.internal.tls.ObservedSslEngine;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.StatusContributor;
import io.undertow.server.ServerConnection;
import io.undertow.util.AttachmentKey;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxy's observability hub: the registered {@link ProxyListener}s and the fan-out to them,
 * readiness, the counters behind {@link ProxyStatus}, and the status contributors. The engine and the
 * direction modules call the small static methods here at their emission points; each is a null check
 * when no listener is registered.
 *
 * <p>Why one class of this size: every emission point of the engine and the modules calls this one hub, so
 * the check that makes events free without listeners is written once.
 */
public final class Telemetry {
  private static final Logger log = LoggerFactory.getLogger(Telemetry.class);
  private static final ProxyListener[] NONE = new ProxyListener[0];
  private static final AttachmentKey<ObservedConnection> CONNECTION = AttachmentKey.create(ObservedConnection.class);

  private final Engine engine;
  private volatile ProxyListener[] listeners = NONE;
  private final LongAdder activeExchanges = new LongAdder();
  private final LongAdder activeConnections = new LongAdder();
  private final List<StatusContributor> contributors = new CopyOnWriteArrayList<>();
  private final List<Runnable> topologyListeners = new CopyOnWriteArrayList<>();
  private final LongAdder listenerFailures = new LongAdder();
  private final LongAdder limitRefusals = new LongAdder();
  private volatile long lastLimitLog = System.nanoTime() - 1_000_000_000L;
  private volatile ProxyStatus.State state = ProxyStatus.State.NEW;
  private volatile Instant startedAt;
  private volatile InetSocketAddress address;
  /** The Micrometer registry bound with builder.metrics (an Object: Micrometer is optional), or null. */
  private volatile Object meterRegistry;
  private volatile Runnable metricsRefresh;
  private volatile AdminServer admin;

  public Telemetry(Engine engine) {
    this.engine = engine;
  }

  // ---------------------------------------------------------------- set-up

  /** Registers a listener; listeners added after an exchange started do not see that exchange. */
  public synchronized void addListener(ProxyListener listener) {
    Objects.requireNonNull(listener, "listener");
    ProxyListener[] next = Arrays.copyOf(listeners, listeners.length + 1);
    next[next.length - 1] = listener;
    listeners = next;
  }

  /** Whether any listener is registered. */
  public boolean enabled() {
    return listeners.length > 0;
  }

  /** Adds a part of {@link ProxyStatus}. */
  public void addStatusContributor(StatusContributor contributor) {
    contributors.add(Objects.requireNonNull(contributor, "contributor"));
  }

  /** Removes a part added with {@link #addStatusContributor}. */
  public void removeStatusContributor(StatusContributor contributor) {
    contributors.remove(contributor);
  }

  /** Told when routes, groups or servers change (gauges re-read the set of servers). */
  public void addTopologyListener(Runnable listener) {
    topologyListeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Routes, groups or servers changed. */
  public void topologyChanged() {
    for (Runnable r : topologyListeners) {
      try {
        r.run();
      } catch (RuntimeException e) {
        log.warn("topology listener failed", e);
      }
    }
  }

  public Engine engine() {
    return engine;
  }

  /** Records the proxy's admin listener. */
  void admin(AdminServer admin) {
    this.admin = admin;
  }

  /** The admin listener's bound address, or null when there is none or it is not running. */
  public InetSocketAddress adminAddress() {
    AdminServer a = admin;
    return a == null ? null : a.address();
  }

  /** Exchanges in flight. */
  public long activeExchanges() {
    return Math.max(0, activeExchanges.sum());
  }

  /** Client connections open (counted while a listener is registered). */
  public long activeConnections() {
    return Math.max(0, activeConnections.sum());
  }

  /** Records the registry the metrics were bound to, and how to refresh its gauges before a scrape. */
  public void meterRegistry(Object registry, Runnable refresh) {
    this.meterRegistry = registry;
    this.metricsRefresh = refresh;
  }

  /** The registry bound with {@code builder.metrics}, or null. */
  public Object meterRegistry() {
    return meterRegistry;
  }

  /** Brings the gauges over servers and pools up to date (before a scrape). */
  public void refreshMetrics() {
    Runnable r = metricsRefresh;
    if (r != null) {
      r.run();
    }
  }

  // ---------------------------------------------------------------- life cycle and readiness

  /** The listener is bound: the proxy is ready. */
  public void started(InetSocketAddress bound) {
    this.address = bound;
    this.startedAt = engine.config().clock().instant();
    this.state = ProxyStatus.State.READY;
  }

  /** {@code close()} has begun: not ready from now on, while in-flight exchanges drain. */
  public void closing() {
    if (state == ProxyStatus.State.READY) {
      state = ProxyStatus.State.DRAINING;
    }
  }

  /** {@code close()} is done. */
  public void closed() {
    state = ProxyStatus.State.CLOSED;
  }

  public ProxyStatus.State state() {
    return state;
  }

  public boolean ready() {
    return state == ProxyStatus.State.READY;
  }

  // ---------------------------------------------------------------- status

  /** A fresh snapshot. */
  public ProxyStatus status() {
    Instant started = startedAt;
    Duration uptime = started == null ? Duration.ZERO : Duration.between(started, engine.config().clock().instant());
    if (uptime.isNegative()) {
      uptime = Duration.ZERO;
    }
    List<ProxyStatus.Route> routes = new ArrayList<>();
    List<ProxyStatus.Group> groups = new ArrayList<>();
    Map<String, Map<String, Long>> features = new LinkedHashMap<>();
    for (StatusContributor c : contributors) {
      routes.addAll(c.routes());
      groups.addAll(c.groups());
      features.putAll(c.features());
    }
    return new ProxyStatus(engine.config().kind(), Versions.current(), state, Optional.ofNullable(started), uptime,
        Optional.ofNullable(address), Math.max(0, activeExchanges.sum()),
        enabled() ? OptionalLong.of(Math.max(0, activeConnections.sum())) : OptionalLong.empty(), routes, groups,
        engine.poolStatus(), features);
  }

  // ---------------------------------------------------------------- exchanges (engine)

  /**
   * A request head arrived; returns the listeners' view of the exchange, or null when nobody listens.
   * Called from the exchange's constructor, on its I/O thread.
   */
  public ObservedExchange exchangeStarted(ExchangeImpl ex) {
    activeExchanges.increment();
    ProxyListener[] ls = listeners;
    if (ls.length == 0) {
      return null;
    }
    ObservedExchange o = new ObservedExchange(ex, ls, this);
    trackConnection(ex, ls);
    for (ProxyListener l : ls) {
      try {
        l.exchangeStarted(o);
      } catch (RuntimeException e) {
        failed(l, "exchangeStarted", e);
      }
    }
    return o;
  }

  /** The exchange is over (for a tunnel: the tunnel closed); called once per exchange. */
  public void exchangeEnded(ExchangeImpl ex) {
    activeExchanges.decrement();
    ObservedExchange o = ex.observed();
    if (o == null || o.ended) {
      return;
    }
    o.outcome = o.conclude();
    o.endNanos = System.nanoTime();
    o.ended = true;
    for (ProxyListener l : o.listeners) {
      try {
        l.exchangeEnded(o);
      } catch (RuntimeException e) {
        failed(l, "exchangeEnded", e);
      }
    }
  }

  /** The filter chain starts (the request passed validation and was not answered by the proxy at once). */
  public static void chainStarted(ExchangeImpl ex) {
    ObservedExchange o = ex.observed();
    if (o != null) {
      o.chain = true;
    }
  }

  /** The reverse proxy matched a route. */
  public static void routeChosen(ExchangeImpl ex, String route) {
    ObservedExchange o = ex.observed();
    if (o == null) {
      return;
    }
    o.route = route;
    for (ProxyListener l : o.listeners) {
      try {
        l.routeChosen(o);
      } catch (RuntimeException e) {
        o.telemetry.failed(l, "routeChosen", e);
      }
    }
  }

  /** The group and server the next upstream attempt goes to (reverse proxy). */
  public static void upstream(ExchangeImpl ex, String group, String server) {
    ObservedExchange o = ex.observed();
    if (o != null) {
      o.group = group;
      o.server = server;
    }
  }

  /** An upstream attempt starts; returns its view, or null when nobody listens. */
  public static ObservedAttempt attemptStarted(ExchangeImpl ex, Endpoint endpoint) {
    ObservedExchange o = ex.observed();
    if (o == null) {
      return null;
    }
    ObservedAttempt a = new ObservedAttempt(o, ++o.attempts, o.group, o.server, endpoint);
    for (ProxyListener l : o.listeners) {
      try {
        l.upstreamAttemptStarted(a);
      } catch (RuntimeException e) {
        o.telemetry.failed(l, "upstreamAttemptStarted", e);
      }
    }
    return a;
  }

  /** An upstream attempt ended, once; {@code status} is its final response's, or 0. */
  public static void attemptEnded(ObservedAttempt a, Throwable error, int status) {
    if (a == null || a.outcome != dev.gatehouse.proxy.events.AttemptOutcome.IN_PROGRESS) {
      return;
    }
    a.endNanos = System.nanoTime();
    a.status = status;
    a.error = error;
    a.outcome = ObservedAttempt.classify(error);
    if (error != null && a.exchange.committed && a.exchange.fromUpstream && !a.exchange.ended) {
      a.exchange.aborted = true; // the response had started: the client gets a truncated body
    }
    for (ProxyListener l : a.exchange.listeners) {
      try {
        l.upstreamAttemptEnded(a);
      } catch (RuntimeException e) {
        a.exchange.telemetry.failed(l, "upstreamAttemptEnded", e);
      }
    }
  }

  /** The failure the error handler is about to answer. */
  public static void failed(ExchangeImpl ex, Throwable error) {
    ObservedExchange o = ex.observed();
    if (o != null) {
      o.error = error;
    }
  }

  /** The response head is about to go to the client. */
  public static void committed(ExchangeImpl ex, boolean fromUpstream) {
    ObservedExchange o = ex.observed();
    if (o == null) {
      return;
    }
    o.committed = true;
    o.fromUpstream = fromUpstream;
    o.aborted = false; // an error answer replacing a response whose body failed before anything was sent
    for (ProxyListener l : o.listeners) {
      try {
        l.responseCommitted(o);
      } catch (RuntimeException e) {
        o.telemetry.failed(l, "responseCommitted", e);
      }
    }
  }

  /** A tunnel started carrying bytes. */
  public static void tunnelOpened(ExchangeImpl ex) {
    ObservedExchange o = ex.observed();
    if (o == null) {
      return;
    }
    o.tunnel = "CONNECT".equals(ex.request().method());
    for (ProxyListener l : o.listeners) {
      try {
        l.tunnelOpened(o);
      } catch (RuntimeException e) {
        o.telemetry.failed(l, "tunnelOpened", e);
      }
    }
  }

  /** A tunnel closed; the exchange's byte counts are the tunnel's. */
  public static void tunnelClosed(ExchangeImpl ex) {
    ObservedExchange o = ex.observed();
    if (o == null) {
      return;
    }
    for (ProxyListener l : o.listeners) {
      try {
        l.tunnelClosed(o);
      } catch (RuntimeException e) {
        o.telemetry.failed(l, "tunnelClosed", e);
      }
    }
  }

  /** A policy decided (see {@link dev.gatehouse.proxy.events.Decisions}). */
  public static void decision(ExchangeImpl ex, String kind, String outcome, String detail) {
    ObservedExchange o = ex.observed();
    if (o == null) {
      return;
    }
    for (ProxyListener l : o.listeners) {
      try {
        l.decision(o, kind, outcome, detail);
      } catch (RuntimeException e) {
        o.telemetry.failed(l, "decision", e);
      }
    }
  }

  // ---------------------------------------------------------------- connections, TLS, servers

  private void trackConnection(ExchangeImpl ex, ProxyListener[] ls) {
    ServerConnection c = ex.hse().getConnection();
    if (c.getAttachment(CONNECTION) != null) {
      return;
    }
    ObservedConnection oc = new ObservedConnection(ex.clientAddress(), ex.localAddress(),
        c.getSslSessionInfo() != null, ex.hse().getProtocol().toString());
    c.putAttachment(CONNECTION, oc);
    activeConnections.increment();
    c.addCloseListener(closed -> {
      activeConnections.decrement();
      notify(ls, l -> l.connectionClosed(oc), "connectionClosed");
    });
    notify(ls, l -> l.connectionOpened(oc), "connectionOpened");
  }

  /**
   * A limit turned a client away (see {@link ProxyListener#limitReached}); logged at most once a second
   * at INFO, with how many since the last line.
   */
  public void limitReached(InetSocketAddress client, String limit) {
    limitRefusals.increment();
    long now = System.nanoTime();
    long last = lastLimitLog;
    if (now - last >= 1_000_000_000L) {
      lastLimitLog = now;
      long n = limitRefusals.sumThenReset();
      log.info("client limits: {} client(s) turned away since the last report (the latest by the {} limit: {})", n,
          limit, client);
    }
    ProxyListener[] ls = listeners;
    if (ls.length > 0) {
      notify(ls, l -> l.limitReached(client, limit), "limitReached");
    }
  }

  /** A TLS handshake with a client completed or failed. */
  void tlsHandshake(TlsHandshake handshake) {
    notify(listeners, l -> l.tlsHandshake(handshake), "tlsHandshake");
  }

  /** A group's server changed state. */
  public void serverStateChanged(ServerStateChange change) {
    notify(listeners, l -> l.serverStateChanged(change), "serverStateChanged");
  }

  /**
   * The SSL context for the client listener: engines that report their handshakes when a listener is
   * registered, else {@code context} itself.
   */
  public SSLContext observeTls(SSLContext context) {
    return enabled() ? ObservedSslEngine.wrap(context, new HandshakeReporter(this)) : context;
  }

  private void notify(ProxyListener[] ls, Consumer<ProxyListener> event, String name) {
    for (ProxyListener l : ls) {
      try {
        event.accept(l);
      } catch (RuntimeException e) {
        failed(l, name, e);
      }
    }
  }

  private void failed(ProxyListener l, String event, RuntimeException e) {
    listenerFailures.increment();
    long n = listenerFailures.sum();
    if (Long.bitCount(n) == 1) { // 1, 2, 4, 8, ...: a warning, not a flood
      log.warn("listener {} failed in {} ({} listener failures so far)", l, event, n, e);
    } else {
      log.debug("listener {} failed in {}", l, event, e);
    }
  }
}
