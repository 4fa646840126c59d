package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.spi.PoolSettings;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

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
 *
 * <p>(This class is long because it is the group's documented public surface, its builder included; the work
 * is done by ServerList, Chooser, OutlierEjection, HealthTransitions and HealthChecker.)
 */
public final class UpstreamGroup {
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final String name;
  private final boolean named;
  private final LoadBalancing balancing;
  private final String stickyCookie;
  private final HealthCheck healthCheck;
  private final PoolLimits poolLimits;
  private final Object lock = new Object();
  private final HealthEvents events;
  private final ServerList servers;
  private final OutlierEjection ejection;
  private final HealthTransitions transitions;
  private final Chooser chooser;
  private final HealthCheckLifecycle lifecycle;
  private final GroupClock clock;

  private UpstreamGroup(Builder b) {
    this.name = b.name != null ? b.name : "upstream-" + SEQUENCE.incrementAndGet();
    this.named = b.name != null;
    this.balancing = b.balancing;
    this.stickyCookie = b.stickyCookie;
    this.healthCheck = b.healthCheck;
    this.poolLimits = new PoolLimits(b.maxConnections, b.maxIdle, b.maxPending, b.tls, b.http2);
    this.clock = new GroupClock(name);
    this.events = new HealthEvents(name, b.healthListener);
    this.servers = new ServerList(b.servers, balancing, events, lock);
    this.ejection = new OutlierEjection(b.outlier, servers, events, lock);
    this.transitions = healthCheck == null ? null : new HealthTransitions(healthCheck, events, lock);
    this.chooser = new Chooser(name, balancing, servers, ejection, stickyCookie, b.maxConcurrent);
    this.lifecycle = healthCheck == null ? null : new HealthCheckLifecycle(this);
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
    for (Member m : servers.snapshot().members()) {
      out.add(m.server().key());
    }
    return out;
  }

  /**
   * The state of each server, then of each server still draining after its removal. Reading it changes
   * nothing: a server whose ejection time is over shows as available, and is taken back (with its log
   * line and {@link HealthEvent}) by the next request or health-check round.
   */
  public List<ServerStatus> status() {
    long now = now();
    List<ServerStatus> out = new ArrayList<>();
    for (Member m : servers.snapshot().members()) {
      out.add(statusOf(m.server(), m.weight(), now));
    }
    for (UpstreamServer s : servers.draining()) {
      out.add(statusOf(s, 0, now));
    }
    return Collections.unmodifiableList(out);
  }

  private static ServerStatus statusOf(UpstreamServer s, int weight, long now) {
    return new ServerStatus(s.key(), weight, s.state(now), s.inFlight(), s.consecutiveFailures, s.ejections);
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
    ServerUri address = ServerUri.parse(uri);
    servers.add(address, Checks.weight(weight));
  }

  /**
   * Removes a server while the proxy runs: it gets no new requests and finishes those in flight
   * ({@link ServerState#DRAINING} in {@link #status()} until then).
   *
   * @return false if the server was not in the group
   * @throws IllegalStateException if it is the last server
   */
  public boolean removeServer(String uri) {
    return servers.remove(ServerUri.parse(uri));
  }

  /**
   * Changes a server's weight while the proxy runs.
   *
   * @throws IllegalArgumentException if the weight is invalid or the server is not in the group
   */
  public void setWeight(String uri, int weight) {
    Checks.weight(weight);
    servers.setWeight(ServerUri.parse(uri), weight);
  }

  /**
   * Replaces the whole server list in one atomic step, as a service-discovery update would: servers not
   * in {@code weights} are removed (and drain), new ones are added, the others take their new weight.
   * Requests see either the old list or the new one.
   *
   * @param weights server URI to weight (1-1000), in the order wanted; iteration order is kept
   * @throws IllegalArgumentException if {@code weights} is empty, a URI or weight is invalid, or two URIs
   *     name the same server
   */
  public void setServers(Map<String, Integer> weights) {
    Objects.requireNonNull(weights, "weights");
    if (weights.isEmpty()) {
      throw new IllegalArgumentException("servers: {} (expected: at least one server; an upstream group is never empty)");
    }
    servers.setAll(ServerList.entries(weights));
    HealthEvents.LOG.info("upstream group {}: servers set to {}", name, weights);
  }

  // ---------------------------------------------------------------- for the route table and the checker

  ServerList.Snapshot snapshot() {
    return servers.snapshot();
  }

  String stickyCookie() {
    return stickyCookie;
  }

  HealthCheck healthCheck() {
    return healthCheck;
  }

  Chooser chooser() {
    return chooser;
  }

  OutlierEjection ejection() {
    return ejection;
  }

  /** Active health transitions, or null without health checks. */
  HealthTransitions transitions() {
    return transitions;
  }

  /** Now on the group's clock ({@link GroupClock}), in nanoseconds. */
  long now() {
    return clock.now();
  }

  /**
   * Runs the health-check round that is due by the clock, if any; completes when it has reported. For
   * tests that move the clock: completed at once without health checks or while no proxy runs.
   */
  CompletableFuture<Void> runDueHealthChecks() {
    HealthChecker c = lifecycle == null ? null : lifecycle.checker();
    return c == null ? CompletableFuture.completedFuture(null) : c.runDue();
  }

  /**
   * Called when a proxy routes to this group (when it is built, or when its routes change): the group
   * takes its clock.
   *
   * @throws IllegalStateException if another proxy using the group has another clock
   */
  void bindClock(ProxyRuntime runtime) {
    clock.bind(runtime);
  }

  /** A proxy routing to this group started, or a running proxy's routes now use it: health checks run. */
  void engineStarted(ProxyRuntime runtime) {
    if (lifecycle != null) {
      lifecycle.started(runtime);
    }
  }

  /** A proxy closed, or no longer routes to this group. */
  void engineStopped(ProxyRuntime runtime) {
    if (lifecycle != null) {
      lifecycle.stopped(runtime);
    }
  }

  // ---------------------------------------------------------------- for the proxies' status and events

  /** Also tells {@code observer} of every state change (a proxy's event listeners). */
  void observe(Consumer<HealthEvent> observer) {
    events.observe(observer);
  }

  /** Stops telling {@code observer}. */
  void unobserve(Consumer<HealthEvent> observer) {
    events.unobserve(observer);
  }

  /** The load-balancing policy's name, e.g. {@code weightedRoundRobin}. */
  String loadBalancingName() {
    return balancing.toString();
  }

  /** The concurrency limit per server, 0 for none. */
  int maxConcurrentRequestsPerServer() {
    return chooser.maxConcurrentPerServer();
  }

  /** Whether a server that would take requests is at its concurrency limit (its circuit is open). */
  boolean circuitOpen() {
    int max = chooser.maxConcurrentPerServer();
    if (max <= 0) {
      return false;
    }
    long now = clock.now();
    for (Member m : servers.snapshot().members()) {
      if (m.server().available(now) && m.server().inFlight() >= max) {
        return true;
      }
    }
    return false;
  }

  /** The pool limits and TLS of this group's servers on top of the proxy's defaults. */
  PoolSettings poolSettings(PoolSettings defaults) {
    return poolLimits.settings(defaults);
  }

  @Override
  public String toString() {
    return (named ? name + " " : "") + balancing + servers;
  }

  /** Builds an {@link UpstreamGroup}. */
  public static final class Builder {
    private final List<ServerList.Entry> servers = new ArrayList<>();
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

    /**
     * The name used in logs, health events and 503 reasons.
     *
     * @implSpec Defaults to {@code upstream-N}.
     */
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
      ServerUri address = ServerUri.parse(uri);
      Checks.weight(weight);
      for (ServerList.Entry e : servers) {
        if (e.address().key().equals(address.key())) {
          throw new IllegalArgumentException("upstream: " + uri + " (expected: each server added once)");
        }
      }
      servers.add(new ServerList.Entry(address, weight));
      return this;
    }

    /**
     * How a server is chosen: one of {@link LoadBalancing}'s policies or your own implementation.
     *
     * @implSpec Defaults to {@link LoadBalancing#weightedRoundRobin()}.
     */
    public Builder loadBalancing(LoadBalancing balancing) {
      this.balancing = Objects.requireNonNull(balancing, "loadBalancing");
      return this;
    }

    /**
     * Sticky sessions: the proxy sets cookie {@code cookieName} to an opaque id of the server that
     * answered, and later requests carrying it go to that server while it is available (else to another,
     * and the cookie is updated). The load-balancing policy picks the server of a client without the
     * cookie.
     *
     * @implSpec Defaults to none.
     */
    public Builder stickySessions(String cookieName) {
      this.stickyCookie = Checks.token("stickySessions", cookieName, "a cookie name token");
      return this;
    }

    /**
     * Active health checks.
     *
     * @implSpec Defaults to none.
     */
    public Builder healthCheck(HealthCheck check) {
      this.healthCheck = Objects.requireNonNull(check, "healthCheck");
      return this;
    }

    /**
     * Passive outlier detection.
     *
     * @implSpec Defaults to none.
     */
    public Builder outlierDetection(OutlierDetection detection) {
      this.outlier = Objects.requireNonNull(detection, "outlierDetection");
      return this;
    }

    /**
     * Most connections open to each server.
     *
     * @implSpec Defaults to the proxy's {@code upstreamMaxConnections}.
     */
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
     * 503 at once (or go to another server).
     *
     * @implSpec Defaults to the proxy's {@code upstreamMaxPending}.
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
     * and when all are, requests get 503 at once.
     *
     * @implSpec Defaults to no limit.
     */
    public Builder maxConcurrentRequestsPerServer(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("maxConcurrentRequestsPerServer: " + max + " (expected: > 0)");
      }
      this.maxConcurrent = max;
      return this;
    }

    /**
     * TLS towards {@code https://} servers.
     *
     * @implSpec Defaults to {@link UpstreamTls#defaults()}.
     */
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
     * maxConcurrentRequestsPerServer}.
     *
     * @implSpec Defaults to {@code false} (HTTP/1.1).
     */
    public Builder http2(boolean enabled) {
      this.http2 = enabled;
      return this;
    }

    /**
     * Called when a server changes state (on an I/O thread or the caller of a runtime change: it must
     * not block).
     *
     * @implSpec Defaults to none (changes are logged either way).
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
  }
}
