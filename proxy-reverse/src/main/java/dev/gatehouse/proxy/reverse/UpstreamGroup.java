package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.UpstreamUnavailableException;
import dev.gatehouse.proxy.internal.CoreConfig;
import dev.gatehouse.proxy.internal.Engine;
import dev.gatehouse.proxy.internal.PoolSettings;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The servers a route sends requests to, and how it chooses among them (nginx's {@code upstream}
 * block). Connections to each server are pooled and kept alive by the proxy.
 *
 * <pre>{@code
 * UpstreamGroup backend = UpstreamGroup.builder()
 *     .name("backend")
 *     .add("http://app-1.internal:8080", 3)
 *     .add("http://app-2.internal:8080", 3)
 *     .add("http://app-3.internal:8080", 2)
 *     .healthCheck(HealthCheck.http("/healthz").build())
 *     .outlierDetection(OutlierDetection.defaults())
 *     .build();                       // smooth weighted round robin, as nginx's weight=
 * }</pre>
 *
 * <p><b>Changes at runtime.</b> {@link #addServer}, {@link #removeServer} and {@link #setWeight} may be
 * called from any thread while the proxy runs. Each change swaps the group's server list atomically:
 * a request sees either the old or the new list, never a mix. Requests in flight are never dropped; a
 * removed server gets no new requests and finishes ({@link ServerState#DRAINING}) the ones it has.
 *
 * <p><b>Health.</b> A server gets requests unless active checks ({@link Builder#healthCheck}) found it
 * unhealthy, outlier detection ({@link Builder#outlierDetection}) ejected it, or it is at its
 * concurrency limit. When no server can take a request the client gets 503 at once. Changes are logged
 * (logger {@code dev.gatehouse.proxy.reverse.UpstreamGroup}), passed to {@link Builder#onHealthChange}
 * and visible in {@link #status()}.
 */
public final class UpstreamGroup {
  private static final Logger log = LoggerFactory.getLogger(UpstreamGroup.class);
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final String name;
  private final boolean named;
  private final LoadBalancing balancing;
  private final String stickyCookie;
  private final HealthCheck healthCheck;
  private final OutlierDetection outlier;
  private final int maxConnectionsPerServer;
  private final int maxIdleConnectionsPerServer;
  private final int maxPendingRequestsPerServer;
  private final int maxConcurrentRequestsPerServer;
  private final UpstreamTls tls;
  private final boolean http2;
  private final Consumer<HealthEvent> healthListener;
  private final Object lock = new Object();
  private final List<UpstreamServer> draining = new CopyOnWriteArrayList<>();
  private final List<Engine> runningEngines = new ArrayList<>();
  private final List<Consumer<HealthEvent>> observers = new CopyOnWriteArrayList<>();
  private volatile Snapshot snapshot;
  private HealthChecker checker;

  /** One immutable version of the server list. */
  record Snapshot(List<LoadBalancing.Member> members, Map<String, UpstreamServer> byId,
      LoadBalancing.Selector selector) {}

  private UpstreamGroup(Builder b) {
    this.name = b.name != null ? b.name : "upstream-" + SEQUENCE.incrementAndGet();
    this.named = b.name != null;
    this.balancing = b.balancing;
    this.stickyCookie = b.stickyCookie;
    this.healthCheck = b.healthCheck;
    this.outlier = b.outlier;
    this.maxConnectionsPerServer = b.maxConnections;
    this.maxIdleConnectionsPerServer = b.maxIdle;
    this.maxPendingRequestsPerServer = b.maxPending;
    this.maxConcurrentRequestsPerServer = b.maxConcurrent;
    this.tls = b.tls;
    this.http2 = b.http2;
    this.healthListener = b.healthListener;
    List<LoadBalancing.Member> members = new ArrayList<>();
    for (Object[] s : b.servers) {
      members.add(new LoadBalancing.Member(new UpstreamServer((URI) s[0]), (Integer) s[1]));
    }
    this.snapshot = snapshotOf(members);
  }

  private Snapshot snapshotOf(List<LoadBalancing.Member> members) {
    List<LoadBalancing.Member> copy = List.copyOf(members);
    Map<String, UpstreamServer> byId = new HashMap<>();
    for (LoadBalancing.Member m : copy) {
      byId.put(m.server().id(), m.server());
    }
    return new Snapshot(copy, byId, balancing.selector(copy));
  }

  /** A group of servers with equal weight, chosen by smooth weighted round robin. */
  public static UpstreamGroup of(String... uris) {
    Objects.requireNonNull(uris, "uris");
    Builder b = builder();
    for (String u : uris) {
      b.add(u);
    }
    return b.build();
  }

  /** A builder for a group with weights, another load-balancing policy, health checks or limits. */
  public static Builder builder() {
    return new Builder();
  }

  /** The group's name, as given to {@link Builder#name} or made up ({@code upstream-1}, ...). */
  public String name() {
    return name;
  }

  /** The servers now in the group (not the draining ones), in the order added. */
  public List<String> servers() {
    List<String> out = new ArrayList<>();
    for (LoadBalancing.Member m : snapshot.members()) {
      out.add(m.server().key());
    }
    return out;
  }

  /** The state of each server, then of each server still draining after its removal. */
  public List<ServerStatus> status() {
    long now = System.nanoTime();
    Snapshot snap = snapshot;
    restoreDue(snap, now);
    List<ServerStatus> out = new ArrayList<>();
    for (LoadBalancing.Member m : snap.members()) {
      out.add(statusOf(m.server(), m.weight(), now));
    }
    for (UpstreamServer s : draining) {
      if (s.inFlight() > 0) {
        out.add(statusOf(s, 0, now));
      } else {
        draining.remove(s);
      }
    }
    return Collections.unmodifiableList(out);
  }

  private static ServerStatus statusOf(UpstreamServer s, int weight, long now) {
    return new ServerStatus(s.key(), weight, stateOf(s, now), s.inFlight(), s.consecutiveFailures, s.ejections);
  }

  private static ServerState stateOf(UpstreamServer s, long now) {
    if (s.draining) {
      return ServerState.DRAINING;
    }
    if (!s.activeHealthy) {
      return ServerState.UNHEALTHY;
    }
    if (s.ejected && now - s.ejectedUntilNanos < 0) {
      return ServerState.EJECTED;
    }
    return ServerState.AVAILABLE;
  }

  /** Adds a server with weight 1; see {@link #addServer(String, int)}. */
  public void addServer(String uri) {
    addServer(uri, 1);
  }

  /**
   * Adds a server while the proxy runs; it gets requests at once (and is health-checked from the next
   * round on).
   *
   * @throws IllegalArgumentException if the URI or weight is invalid
   * @throws IllegalStateException if the server is already in the group
   */
  public void addServer(String uri, int weight) {
    URI u = Builder.parse(uri);
    Builder.checkWeight(weight);
    synchronized (lock) {
      UpstreamServer s = new UpstreamServer(u);
      List<LoadBalancing.Member> members = new ArrayList<>(snapshot.members());
      for (LoadBalancing.Member m : members) {
        if (m.server().key().equals(s.key())) {
          throw new IllegalStateException("server: " + uri + " is already in upstream group " + name
              + " (expected: a new server; use setWeight to change its weight)");
        }
      }
      members.add(new LoadBalancing.Member(s, weight));
      snapshot = snapshotOf(members);
    }
    log.info("upstream group {}: added {} weight={}", name, uri, weight);
  }

  /**
   * Removes a server while the proxy runs: it gets no new requests and finishes those in flight
   * ({@link ServerState#DRAINING} in {@link #status()} until then).
   *
   * @return false if the server was not in the group
   * @throws IllegalStateException if it is the last server
   */
  public boolean removeServer(String uri) {
    String key = Builder.parse(uri).getScheme().toLowerCase(java.util.Locale.ROOT) + "://"
        + Builder.parse(uri).getRawAuthority();
    UpstreamServer removed = null;
    synchronized (lock) {
      List<LoadBalancing.Member> members = new ArrayList<>(snapshot.members());
      for (int i = 0; i < members.size(); i++) {
        if (members.get(i).server().key().equals(key)) {
          if (members.size() == 1) {
            throw new IllegalStateException("server: " + uri + " is the last server of upstream group " + name
                + " (expected: add another before removing it)");
          }
          removed = members.remove(i).server();
          break;
        }
      }
      if (removed == null) {
        return false;
      }
      removed.draining = true;
      snapshot = snapshotOf(members);
      if (removed.inFlight() > 0) {
        draining.add(removed);
      }
    }
    log.info("upstream group {}: removed {}; draining {} request(s) in flight", name, uri, removed.inFlight());
    fire(removed, ServerState.AVAILABLE, ServerState.DRAINING, "removed");
    return true;
  }

  /**
   * Changes a server's weight while the proxy runs.
   *
   * @throws IllegalArgumentException if the weight is invalid or the server is not in the group
   */
  public void setWeight(String uri, int weight) {
    Builder.checkWeight(weight);
    String key = Builder.parse(uri).getScheme().toLowerCase(java.util.Locale.ROOT) + "://"
        + Builder.parse(uri).getRawAuthority();
    synchronized (lock) {
      List<LoadBalancing.Member> members = new ArrayList<>(snapshot.members());
      for (int i = 0; i < members.size(); i++) {
        if (members.get(i).server().key().equals(key)) {
          members.set(i, new LoadBalancing.Member(members.get(i).server(), weight));
          snapshot = snapshotOf(members);
          log.info("upstream group {}: {} weight={}", name, uri, weight);
          return;
        }
      }
    }
    throw new IllegalArgumentException("server: " + uri + " (expected: a server of upstream group " + name + ")");
  }

  /**
   * Replaces the whole server list in one atomic step, as a service-discovery update would: servers not
   * in {@code weights} are removed (and drain), new ones are added, the others take their new weight.
   * Requests see either the old list or the new one.
   *
   * @param weights server URI to weight (1-1000), in the order wanted; iteration order is kept
   * @throws IllegalArgumentException if a URI or weight is invalid, or two URIs name the same server
   * @throws IllegalStateException if {@code weights} is empty
   */
  public void setServers(Map<String, Integer> weights) {
    Objects.requireNonNull(weights, "weights");
    if (weights.isEmpty()) {
      throw new IllegalStateException("servers: {} (expected: at least one server; an upstream group is never empty)");
    }
    Map<String, URI> uris = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, Integer> e : weights.entrySet()) {
      URI u = Builder.parse(e.getKey());
      Builder.checkWeight(Objects.requireNonNull(e.getValue(), "weight"));
      String key = u.getScheme().toLowerCase(java.util.Locale.ROOT) + "://" + u.getRawAuthority();
      if (uris.put(key, u) != null) {
        throw new IllegalArgumentException("upstream: " + e.getKey() + " (expected: each server once)");
      }
    }
    List<UpstreamServer> removed = new ArrayList<>();
    synchronized (lock) {
      Map<String, UpstreamServer> current = new HashMap<>();
      for (LoadBalancing.Member m : snapshot.members()) {
        current.put(m.server().key(), m.server());
      }
      List<LoadBalancing.Member> members = new ArrayList<>();
      java.util.Iterator<Integer> w = weights.values().iterator();
      for (Map.Entry<String, URI> e : uris.entrySet()) {
        UpstreamServer s = current.remove(e.getKey());
        members.add(new LoadBalancing.Member(s != null ? s : new UpstreamServer(e.getValue()), w.next()));
      }
      for (UpstreamServer gone : current.values()) {
        gone.draining = true;
        if (gone.inFlight() > 0) {
          draining.add(gone);
        }
        removed.add(gone);
      }
      snapshot = snapshotOf(members);
    }
    log.info("upstream group {}: servers set to {}", name, weights);
    for (UpstreamServer gone : removed) {
      fire(gone, ServerState.AVAILABLE, ServerState.DRAINING, "removed");
    }
  }

  // ---------------------------------------------------------------- selection

  Snapshot snapshot() {
    return snapshot;
  }

  String stickyCookie() {
    return stickyCookie;
  }

  HealthCheck healthCheck() {
    return healthCheck;
  }

  /**
   * Chooses a server and takes one of its request slots (give it back with {@link #release}). Servers in
   * {@code tried} are avoided while others are usable.
   *
   * @throws UpstreamUnavailableException if no server can take the request now
   */
  UpstreamServer choose(ProxyExchange exchange, List<UpstreamServer> tried) {
    Snapshot snap = snapshot;
    long now = System.nanoTime();
    restoreDue(snap, now);
    int max = maxConcurrentRequestsPerServer;
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
      Predicate<UpstreamServer> usable = s -> s.available(now) && (max <= 0 || s.inFlight() < max)
          && (skip == null || !skip.contains(s));
      UpstreamServer s = snap.selector().select(exchange,
          tried == null || tried.isEmpty() ? usable : usable.and(x -> !tried.contains(x)));
      if (s == null && tried != null && !tried.isEmpty()) {
        s = snap.selector().select(exchange, usable);
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

  private UpstreamUnavailableException unavailable(Snapshot snap, long now) {
    int unhealthy = 0;
    int ejected = 0;
    int full = 0;
    for (LoadBalancing.Member m : snap.members()) {
      ServerState st = stateOf(m.server(), now);
      if (st == ServerState.UNHEALTHY) {
        unhealthy++;
      } else if (st == ServerState.EJECTED) {
        ejected++;
      } else if (maxConcurrentRequestsPerServer > 0 && m.server().inFlight() >= maxConcurrentRequestsPerServer) {
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
          .append(maxConcurrentRequestsPerServer).append(" (circuit open)");
    }
    return new UpstreamUnavailableException("upstream group " + name + ": no server available ("
        + snap.members().size() + " servers: " + why + ")");
  }

  /** Gives back a request slot taken by {@link #choose}. */
  void release(UpstreamServer s) {
    s.release();
    if (s.draining && s.inFlight() == 0 && draining.remove(s)) {
      log.info("upstream group {}: {} drained", name, s.key());
    }
  }

  // ---------------------------------------------------------------- passive health

  boolean outlierDetection() {
    return outlier != null;
  }

  boolean counts5xx() {
    return outlier != null && outlier.count5xx();
  }

  void recordSuccess(UpstreamServer s) {
    if (outlier != null && s.consecutiveFailures != 0) {
      synchronized (lock) {
        s.consecutiveFailures = 0;
      }
    }
  }

  void recordFailure(UpstreamServer s, String reason) {
    if (outlier == null) {
      return;
    }
    long now = System.nanoTime();
    boolean eject = false;
    Duration time = null;
    synchronized (lock) {
      s.consecutiveFailures++;
      if ((s.ejected && now - s.ejectedUntilNanos < 0) || s.draining
          || s.consecutiveFailures < outlier.consecutiveFailures()) {
        return;
      }
      Snapshot snap = snapshot;
      int ejectedNow = 0;
      for (LoadBalancing.Member m : snap.members()) {
        UpstreamServer o = m.server();
        if (o.ejected && now - o.ejectedUntilNanos < 0) {
          ejectedNow++;
        }
      }
      int n = snap.members().size();
      int allowed = outlier.maxEjectionPercent() == 0 ? 0 : Math.max(1, n * outlier.maxEjectionPercent() / 100);
      if (ejectedNow + 1 > allowed) {
        if (s.consecutiveFailures != outlier.consecutiveFailures()) {
          return; // said once already
        }
        log.warn("upstream group {}: {} failed {} times in a row ({}) but is not ejected: {} of {} servers already "
            + "ejected (maxEjectionPercent {})", name, s.key(), s.consecutiveFailures, reason, ejectedNow, n,
            outlier.maxEjectionPercent());
        return;
      }
      long maxNanos = outlier.maxEjectionTime().toNanos();
      if (s.ejections > 0 && now - s.lastEjectionEndNanos > maxNanos) {
        s.ejections = 0; // behaved for a long time: start over at the base time
      }
      s.ejections++;
      long nanos = Math.min(maxNanos, outlier.baseEjectionTime().toNanos() * s.ejections);
      time = Duration.ofNanos(nanos);
      s.ejectedUntilNanos = now + nanos;
      s.ejected = true;
      s.consecutiveFailures = 0;
      eject = true;
    }
    if (eject) {
      String why = "ejected for " + time + " after " + outlier.consecutiveFailures() + " consecutive failures (last: "
          + reason + ")";
      log.warn("upstream group {}: {} {}", name, s.key(), why);
      fire(s, ServerState.AVAILABLE, ServerState.EJECTED, why);
    }
  }

  /** Returns ejected servers whose time is over. */
  private void restoreDue(Snapshot snap, long now) {
    for (LoadBalancing.Member m : snap.members()) {
      UpstreamServer s = m.server();
      if (s.ejected && now - s.ejectedUntilNanos >= 0) {
        boolean restored = false;
        synchronized (lock) {
          if (s.ejected && now - s.ejectedUntilNanos >= 0) {
            s.ejected = false;
            s.lastEjectionEndNanos = s.ejectedUntilNanos;
            restored = true;
          }
        }
        if (restored) {
          log.info("upstream group {}: {} returns after its ejection", name, s.key());
          fire(s, ServerState.EJECTED, s.activeHealthy ? ServerState.AVAILABLE : ServerState.UNHEALTHY,
              "ejection time over");
        }
      }
    }
  }

  // ---------------------------------------------------------------- active health

  /** The outcome of one active check; called on an I/O thread. */
  void onHealthCheck(UpstreamServer s, boolean passed, String detail) {
    ServerState from = null;
    ServerState to = null;
    String why = null;
    synchronized (lock) {
      if (passed) {
        s.healthFailures = 0;
        if (!s.activeHealthy && ++s.healthPasses >= healthCheck.healthyThreshold()) {
          s.activeHealthy = true;
          s.healthPasses = 0;
          s.ejected = false;
          s.consecutiveFailures = 0;
          from = ServerState.UNHEALTHY;
          to = s.draining ? ServerState.DRAINING : ServerState.AVAILABLE;
          why = healthCheck.healthyThreshold() + " health check(s) passed";
        }
      } else {
        s.healthPasses = 0;
        if (s.activeHealthy && ++s.healthFailures >= healthCheck.unhealthyThreshold()) {
          from = stateOf(s, System.nanoTime());
          s.activeHealthy = false;
          s.healthFailures = 0;
          to = ServerState.UNHEALTHY;
          why = healthCheck.unhealthyThreshold() + " health check(s) failed (last: " + detail + ")";
        }
      }
    }
    if (to != null) {
      if (to == ServerState.UNHEALTHY) {
        log.warn("upstream group {}: {} is unhealthy: {}", name, s.key(), why);
      } else {
        log.info("upstream group {}: {} is healthy again: {}", name, s.key(), why);
      }
      fire(s, from, to, why);
    }
  }

  private void fire(UpstreamServer s, ServerState from, ServerState to, String reason) {
    if (healthListener == null && observers.isEmpty()) {
      return;
    }
    HealthEvent event = new HealthEvent(name, s.key(), from, to, reason);
    try {
      if (healthListener != null) {
        healthListener.accept(event);
      }
    } catch (RuntimeException e) {
      log.warn("upstream group {}: onHealthChange listener failed", name, e);
    }
    for (Consumer<HealthEvent> o : observers) {
      o.accept(event);
    }
  }

  // ---------------------------------------------------------------- for the proxies using the group

  /** Also tells {@code observer} of every state change (a proxy's event listeners). */
  void observe(Consumer<HealthEvent> observer) {
    observers.add(observer);
  }

  /** Stops telling {@code observer}. */
  void unobserve(Consumer<HealthEvent> observer) {
    observers.remove(observer);
  }

  /** The load-balancing policy's name, e.g. {@code weightedRoundRobin}. */
  String loadBalancingName() {
    return balancing.name();
  }

  /** The concurrency limit per server, 0 for none. */
  int maxConcurrentRequestsPerServer() {
    return maxConcurrentRequestsPerServer;
  }

  /** Whether a server that would take requests is at its concurrency limit (its circuit is open). */
  boolean circuitOpen() {
    int max = maxConcurrentRequestsPerServer;
    if (max <= 0) {
      return false;
    }
    long now = System.nanoTime();
    for (LoadBalancing.Member m : snapshot.members()) {
      if (m.server().available(now) && m.server().inFlight() >= max) {
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- lifecycle with a proxy

  /**
   * A proxy whose routes use this group started (or took it into its routes while running): health
   * checks run while at least one such proxy does.
   */
  void engineStarted(Engine engine) {
    synchronized (lock) {
      runningEngines.add(engine);
      if (healthCheck != null && checker == null) {
        checker = new HealthChecker(this, engine);
        checker.start();
      }
    }
  }

  /** A proxy closed, or no longer routes to this group. */
  void engineStopped(Engine engine) {
    synchronized (lock) {
      runningEngines.remove(engine);
      if (checker != null && checker.engine() == engine) {
        checker.stop();
        checker = null;
        if (!runningEngines.isEmpty()) {
          checker = new HealthChecker(this, runningEngines.get(0));
          checker.start();
        }
      }
    }
  }

  /** The pool limits and TLS of this group's servers on top of the proxy's defaults. */
  PoolSettings poolSettings(CoreConfig config) {
    int maxConn = maxConnectionsPerServer > 0 ? maxConnectionsPerServer : config.upstreamMaxConnections();
    int maxIdle = maxIdleConnectionsPerServer >= 0 ? maxIdleConnectionsPerServer
        : Math.min(config.upstreamMaxIdleConnections(), maxConn);
    int maxPending = maxPendingRequestsPerServer >= 0 ? maxPendingRequestsPerServer : config.upstreamMaxPending();
    return new PoolSettings(maxConn, maxIdle, maxPending, config.upstreamKeepAliveTimeout(),
        tls == null ? null : tls.clientTls(), http2);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(named ? name + " " : "").append(balancing.name()).append('[');
    List<LoadBalancing.Member> members = snapshot.members();
    for (int i = 0; i < members.size(); i++) {
      LoadBalancing.Member m = members.get(i);
      sb.append(i == 0 ? "" : ", ").append(m.server().key());
      if (m.weight() != 1) {
        sb.append(" weight=").append(m.weight());
      }
    }
    return sb.append(']').toString();
  }

  /** Builds an {@link UpstreamGroup}. */
  public static final class Builder {
    private final List<Object[]> servers = new ArrayList<>();
    private String name;
    private LoadBalancing balancing = LoadBalancing.weightedRoundRobin();
    private String stickyCookie;
    private HealthCheck healthCheck;
    private OutlierDetection outlier;
    private int maxConnections;
    private int maxIdle = -1;
    private int maxPending = -1;
    private int maxConcurrent;
    private UpstreamTls tls;
    private boolean http2;
    private Consumer<HealthEvent> healthListener;

    private Builder() {}

    /** The name used in logs, health events and 503 reasons. @implSpec Defaults to {@code upstream-N}. */
    public Builder name(String name) {
      Objects.requireNonNull(name, "name");
      if (name.isBlank() || name.chars().anyMatch(c -> c < 0x20 || c == 0x7F)) {
        throw new IllegalArgumentException("name: \"" + name + "\" (expected: a non-blank name without control characters)");
      }
      this.name = name;
      return this;
    }

    /** Adds a server with weight 1. */
    public Builder add(String uri) {
      return add(uri, 1);
    }

    /**
     * Adds a server, e.g. {@code http://app-1.internal:8080} or {@code https://10.0.0.7}, with a weight
     * (1-1000): a server of weight 3 gets three times the requests of a server of weight 1.
     */
    public Builder add(String uri, int weight) {
      URI u = parse(uri);
      checkWeight(weight);
      String key = u.getScheme().toLowerCase(java.util.Locale.ROOT) + "://" + u.getRawAuthority();
      for (Object[] s : servers) {
        URI o = (URI) s[0];
        if ((o.getScheme().toLowerCase(java.util.Locale.ROOT) + "://" + o.getRawAuthority()).equals(key)) {
          throw new IllegalArgumentException("upstream: " + uri + " (expected: each server added once)");
        }
      }
      servers.add(new Object[] {u, weight});
      return this;
    }

    static void checkWeight(int weight) {
      if (weight < 1 || weight > 1000) {
        throw new IllegalArgumentException("weight: " + weight + " (expected: 1-1000)");
      }
    }

    /** How a server is chosen. @implSpec Defaults to {@link LoadBalancing#weightedRoundRobin()}. */
    public Builder loadBalancing(LoadBalancing balancing) {
      this.balancing = Objects.requireNonNull(balancing, "loadBalancing");
      return this;
    }

    /**
     * Sticky sessions: the proxy sets cookie {@code cookieName} to an opaque id of the server that
     * answered, and later requests carrying it go to that server while it is available (else to another,
     * and the cookie is updated). The load-balancing policy picks the server of a client without the
     * cookie. @implSpec Defaults to none.
     */
    public Builder stickySessions(String cookieName) {
      Objects.requireNonNull(cookieName, "stickySessions");
      if (!cookieName.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
        throw new IllegalArgumentException("stickySessions: \"" + cookieName + "\" (expected: a cookie name token)");
      }
      this.stickyCookie = cookieName;
      return this;
    }

    /** Active health checks. @implSpec Defaults to none. */
    public Builder healthCheck(HealthCheck check) {
      this.healthCheck = Objects.requireNonNull(check, "healthCheck");
      return this;
    }

    /** Passive outlier detection. @implSpec Defaults to none. */
    public Builder outlierDetection(OutlierDetection detection) {
      this.outlier = Objects.requireNonNull(detection, "outlierDetection");
      return this;
    }

    /** Most connections open to each server. @implSpec Defaults to the proxy's {@code upstreamMaxConnections}. */
    public Builder maxConnectionsPerServer(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("maxConnectionsPerServer: " + max + " (expected: > 0)");
      }
      this.maxConnections = max;
      return this;
    }

    /**
     * Most idle keep-alive connections kept to each server (nginx's {@code keepalive 32}).
     * @implSpec Defaults to the proxy's {@code upstreamMaxIdleConnections}.
     */
    public Builder maxIdleConnectionsPerServer(int max) {
      if (max < 0) {
        throw new IllegalArgumentException("maxIdleConnectionsPerServer: " + max + " (expected: >= 0)");
      }
      this.maxIdle = max;
      return this;
    }

    /**
     * Most requests queued for a connection to each server when its connections are all busy; more get
     * 503 at once (or go to another server). @implSpec Defaults to the proxy's {@code upstreamMaxPending}.
     */
    public Builder maxPendingRequestsPerServer(int max) {
      if (max < 0) {
        throw new IllegalArgumentException("maxPendingRequestsPerServer: " + max + " (expected: >= 0)");
      }
      this.maxPending = max;
      return this;
    }

    /**
     * Most requests in flight to each server (a circuit breaker): a server at the limit gets no more,
     * and when all are, requests get 503 at once. @implSpec Defaults to no limit.
     */
    public Builder maxConcurrentRequestsPerServer(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("maxConcurrentRequestsPerServer: " + max + " (expected: > 0)");
      }
      this.maxConcurrent = max;
      return this;
    }

    /** TLS towards {@code https://} servers. @implSpec Defaults to {@link UpstreamTls#defaults()}. */
    public Builder tls(UpstreamTls tls) {
      this.tls = Objects.requireNonNull(tls, "tls");
      return this;
    }

    /**
     * Speaks HTTP/2 to the servers: to {@code https://} servers it is offered in the TLS handshake (ALPN)
     * and a server that declines gets HTTP/1.1; {@code http://} servers must accept HTTP/2 with prior
     * knowledge (h2c). Each I/O thread keeps one multiplexed connection per server, closed after the
     * proxy's {@code upstreamKeepAliveTimeout} without requests. Health checks speak HTTP/2 the same
     * way. Upgrade requests (WebSocket) still use HTTP/1.1, {@code Expect: 100-continue} is answered by
     * the proxy once the stream is open, and interim responses other than {@code 100} are not relayed.
     * {@code maxConnectionsPerServer}, {@code maxIdleConnectionsPerServer} and {@code
     * maxPendingRequestsPerServer} apply to the HTTP/1.1 connections only; limit streams with {@code
     * maxConcurrentRequestsPerServer}. @implSpec Defaults to {@code false} (HTTP/1.1).
     */
    public Builder http2(boolean enabled) {
      this.http2 = enabled;
      return this;
    }

    /**
     * Called when a server changes state (on an I/O thread or the caller of a runtime change: it must
     * not block). @implSpec Defaults to none (changes are logged either way).
     */
    public Builder onHealthChange(Consumer<HealthEvent> listener) {
      this.healthListener = Objects.requireNonNull(listener, "onHealthChange");
      return this;
    }

    /**
     * Builds the group.
     *
     * @throws IllegalStateException with no servers, or when limits conflict
     */
    public UpstreamGroup build() {
      if (servers.isEmpty()) {
        throw new IllegalStateException("upstream group has no servers (expected: at least one add(...))");
      }
      if (maxConnections > 0 && maxIdle > maxConnections) {
        throw new IllegalStateException("maxIdleConnectionsPerServer: " + maxIdle
            + " (expected: <= maxConnectionsPerServer " + maxConnections + ")");
      }
      return new UpstreamGroup(this);
    }

    static URI parse(String uri) {
      Objects.requireNonNull(uri, "uri");
      URI u;
      try {
        u = new URI(uri);
      } catch (URISyntaxException e) {
        u = null;
      }
      if (u == null || u.getScheme() == null || u.getHost() == null
          || !(u.getScheme().equalsIgnoreCase("http") || u.getScheme().equalsIgnoreCase("https"))) {
        throw new IllegalArgumentException("upstream: " + uri + " (expected: an absolute http or https URI)");
      }
      if ((u.getRawPath() != null && !u.getRawPath().isEmpty() && !u.getRawPath().equals("/"))
          || u.getRawQuery() != null || u.getRawFragment() != null || u.getRawUserInfo() != null) {
        throw new IllegalArgumentException("upstream: " + uri
            + " (expected: scheme, host and port only; use Route.rewritePrefix to change paths)");
      }
      return u;
    }
  }
}
