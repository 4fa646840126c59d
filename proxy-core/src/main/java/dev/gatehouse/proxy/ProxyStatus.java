package dev.gatehouse.proxy;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A point-in-time view of a running proxy, from {@link ProxyServer#status()}: what the admin
 * listener's {@code /status} shows as JSON, for an application that would rather expose it through
 * endpoints of its own. Cheap to take (no I/O); each call makes a new snapshot.
 *
 * @param kind {@code reverse} or {@code forward}
 * @param version the Gatehouse version, e.g. {@code 0.1.0}
 * @param state whether the proxy takes traffic
 * @param startedAt when {@link ProxyServer#start()} completed, by the builder's clock; empty before
 * @param uptime time since {@code startedAt}; zero before start
 * @param address the proxy's bound address; empty before start
 * @param activeExchanges exchanges in flight (requests received and not yet answered completely,
 *     open {@code CONNECT} tunnels)
 * @param activeConnections open client connections that have sent a request; counted only while an
 *     event listener, metrics, tracing, an access log or the admin listener is configured, else empty
 * @param routes the reverse proxy's routes in matching order; empty for a forward proxy
 * @param groups the upstream groups the routes use, each once
 * @param pools the upstream connection pools, one per upstream address and settings
 * @param features counters of optional features that report them (e.g. a cache's entries and hits),
 *     by feature name
 */
public record ProxyStatus(String kind, String version, State state, Optional<Instant> startedAt, Duration uptime,
    Optional<InetSocketAddress> address, long activeExchanges, OptionalLong activeConnections, List<Route> routes,
    List<Group> groups, List<Pool> pools, Map<String, Map<String, Long>> features) {

  /** Copies the lists and maps; checks that nothing is null. */
  public ProxyStatus {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(startedAt, "startedAt");
    Objects.requireNonNull(uptime, "uptime");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(activeConnections, "activeConnections");
    routes = List.copyOf(routes);
    groups = List.copyOf(groups);
    pools = List.copyOf(pools);
    features = Map.copyOf(features);
  }

  /** Whether the proxy takes traffic. */
  public enum State {
    /** Built, not started. */
    NEW,
    /** Started: {@code /readyz} answers 200. */
    READY,
    /** {@link ProxyServer#close()} has begun: in-flight exchanges finish, new connections are refused. */
    DRAINING,
    /** Closed. */
    CLOSED
  }

  /**
   * A route of the reverse proxy.
   *
   * @param name the route's name (a metric tag), e.g. {@code api}
   * @param match its conditions, e.g. {@code pathPrefix(/api).methods(GET)}
   * @param group the name of the upstream group it sends to
   */
  public record Route(String name, String match, String group) {
    /** Checks that nothing is null. */
    public Route {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(match, "match");
      Objects.requireNonNull(group, "group");
    }
  }

  /**
   * An upstream group.
   *
   * @param name the group's name
   * @param loadBalancing the policy's name, e.g. {@code weightedRoundRobin}
   * @param servers its servers, then the ones still draining after removal
   */
  public record Group(String name, String loadBalancing, List<Server> servers) {
    /** Copies the list; checks that nothing is null. */
    public Group {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(loadBalancing, "loadBalancing");
      servers = List.copyOf(servers);
    }
  }

  /**
   * A server of an upstream group.
   *
   * @param uri the server, {@code scheme://host:port} as added
   * @param weight its weight (0 while draining)
   * @param state {@code AVAILABLE}, {@code UNHEALTHY}, {@code EJECTED} or {@code DRAINING}
   * @param activeRequests requests it is serving now
   * @param consecutiveFailures failures in a row seen by outlier detection
   * @param ejections how many times outlier detection ejected it recently
   * @param circuitOpen whether it is at its concurrency limit ({@code maxConcurrentRequestsPerServer})
   *     and so gets no new request until one ends
   */
  public record Server(String uri, int weight, String state, int activeRequests, int consecutiveFailures,
      int ejections, boolean circuitOpen) {
    /** Checks that nothing is null. */
    public Server {
      Objects.requireNonNull(uri, "uri");
      Objects.requireNonNull(state, "state");
    }
  }

  /**
   * The connections kept to one upstream address.
   *
   * @param upstream the address, {@code scheme://host:port}
   * @param openConnections connections open now (in use and idle; HTTP/2 connections included)
   * @param idleConnections keep-alive connections waiting for a request
   * @param pendingRequests requests queued for a connection because the limit is reached
   * @param http2 whether the pool speaks HTTP/2 to the upstream
   */
  public record Pool(String upstream, int openConnections, int idleConnections, int pendingRequests,
      boolean http2) {
    /** Checks that nothing is null. */
    public Pool {
      Objects.requireNonNull(upstream, "upstream");
    }
  }
}
