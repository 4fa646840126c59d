package dev.gatehouse.proxy.metrics;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * How the proxy's Micrometer meters are made: {@code builder.metrics(registry, options)}. Immutable.
 *
 * <p>The meters, all named {@code gatehouse.*} ({@code gatehouse_*} in Prometheus), with tags whose
 * values come from the configuration or from small fixed sets, never from request data:
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th></tr>
 *   <tr><td>{@code gatehouse.requests}</td><td>timer</td><td>{@code route}, {@code method} (GET, POST, ...,
 *       other), {@code status} (2xx, ..., none), {@code outcome} (upstream, local, error, rejected,
 *       aborted, tunnel)</td></tr>
 *   <tr><td>{@code gatehouse.requests.active}</td><td>gauge</td><td>exchanges in flight</td></tr>
 *   <tr><td>{@code gatehouse.request.body.bytes}, {@code gatehouse.response.body.bytes}</td><td>counter</td>
 *       <td>{@code route}</td></tr>
 *   <tr><td>{@code gatehouse.upstream.attempts}</td><td>timer</td><td>{@code group}, {@code server},
 *       {@code outcome} (response, connect-error, timeout, reset, protocol-error, rejected, cancelled,
 *       failed), {@code status}</td></tr>
 *   <tr><td>{@code gatehouse.upstream.retries}</td><td>counter</td><td>{@code group}</td></tr>
 *   <tr><td>{@code gatehouse.upstream.rejections}</td><td>counter</td><td>{@code group}, {@code reason}
 *       (circuit-open, no-server)</td></tr>
 *   <tr><td>{@code gatehouse.upstream.ejections}</td><td>counter</td><td>{@code group}, {@code server}</td></tr>
 *   <tr><td>{@code gatehouse.upstream.server.state}</td><td>gauge, 1 or 0</td><td>{@code group}, {@code
 *       server}, {@code state} (AVAILABLE, UNHEALTHY, EJECTED, DRAINING)</td></tr>
 *   <tr><td>{@code gatehouse.upstream.server.active}</td><td>gauge</td><td>{@code group}, {@code server}</td></tr>
 *   <tr><td>{@code gatehouse.upstream.server.circuit.open}</td><td>gauge, 1 or 0</td><td>{@code group},
 *       {@code server}</td></tr>
 *   <tr><td>{@code gatehouse.upstream.connections}</td><td>gauge</td><td>{@code upstream}, {@code state}
 *       (active, idle)</td></tr>
 *   <tr><td>{@code gatehouse.upstream.pending}</td><td>gauge</td><td>{@code upstream}</td></tr>
 *   <tr><td>{@code gatehouse.connections}</td><td>counter</td><td>client connections opened</td></tr>
 *   <tr><td>{@code gatehouse.connections.active}</td><td>gauge</td><td>client connections open</td></tr>
 *   <tr><td>{@code gatehouse.limit.rejections}</td><td>counter</td><td>{@code limit} (connections,
 *       connections-per-ip, exchanges): clients turned away by {@code maxClientConnections}, {@code
 *       maxClientConnectionsPerIp}, {@code maxConcurrentExchanges}</td></tr>
 *   <tr><td>{@code gatehouse.tls.handshakes}</td><td>counter</td><td>{@code result} (success, failure)</td></tr>
 *   <tr><td>{@code gatehouse.tunnels}</td><td>counter</td><td>{@code kind} (connect, upgrade)</td></tr>
 *   <tr><td>{@code gatehouse.tunnels.active}</td><td>gauge</td><td>open tunnels</td></tr>
 *   <tr><td>{@code gatehouse.tunnel.bytes}</td><td>counter</td><td>{@code direction} (upstream,
 *       downstream)</td></tr>
 *   <tr><td>{@code gatehouse.egress.decisions}</td><td>counter</td><td>{@code decision} (allow, deny),
 *       {@code reason} (the rule's kind, e.g. {@code deny address}, {@code default deny loopback})</td></tr>
 *   <tr><td>{@code gatehouse.cache.requests}, {@code gatehouse.ratelimit.decisions}, {@code
 *       gatehouse.auth.decisions}</td><td>counter</td><td>{@code outcome}, as the filter reports it</td></tr>
 *   <tr><td>{@code gatehouse.filter.decisions}</td><td>counter</td><td>{@code kind}, {@code outcome}: other
 *       filters' decisions</td></tr>
 * </table>
 *
 * <p>{@code route} is the route's name ({@code none} in a forward proxy), {@code group} the upstream
 * group's ({@code none} in a forward proxy), {@code server} and {@code upstream} the configured server
 * ({@code none} for a forward proxy's destinations, which are unbounded). Timers publish count, total
 * and max; percentile histograms only with {@link Builder#histograms(boolean)}.
 */
public final class MetricsOptions {
  private static final MetricsOptions DEFAULTS = new Builder().build();
  /** Tag keys the proxy's meters use themselves. */
  private static final List<String> RESERVED = List.of("route", "method", "status", "outcome", "group", "server",
      "state", "upstream", "result", "kind", "direction", "decision", "reason", "limit");

  private final boolean histograms;
  private final List<String> tags;

  private MetricsOptions(Builder b) {
    this.histograms = b.histograms;
    this.tags = Collections.unmodifiableList(new ArrayList<>(b.tags));
  }

  /** No histograms, no extra tags. */
  public static MetricsOptions defaults() {
    return DEFAULTS;
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** Whether the timers publish percentile histograms. */
  public boolean histograms() {
    return histograms;
  }

  /** Tags added to every meter, as {@code key, value, key, value, ...}. */
  public List<String> tags() {
    return tags;
  }

  @Override
  public String toString() {
    return "MetricsOptions(histograms=" + histograms + ", tags=" + tags + ")";
  }

  /** Builds {@link MetricsOptions}. */
  public static final class Builder {
    private boolean histograms;
    private final List<String> tags = new ArrayList<>();

    private Builder() {}

    /**
     * Publishes percentile histograms for {@code gatehouse.requests} and {@code
     * gatehouse.upstream.attempts} (Prometheus {@code _bucket} series, for {@code
     * histogram_quantile}); each adds about 70 series per tag combination.
     *
     * @implSpec Defaults to false.
     */
    public Builder histograms(boolean enabled) {
      this.histograms = enabled;
      return this;
    }

    /**
     * Adds a tag to every meter, e.g. {@code tag("proxy", "egress")} to tell two proxies sharing one
     * registry apart.
     */
    public Builder tag(String key, String value) {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value");
      if (key.isBlank() || RESERVED.contains(key)) {
        throw new IllegalArgumentException("tag key: \"" + key + "\" (expected: not blank, and none of "
            + String.join(", ", RESERVED) + ")");
      }
      for (int i = 0; i < tags.size(); i += 2) {
        if (tags.get(i).equals(key)) {
          throw new IllegalArgumentException("tag key: \"" + key + "\" (expected: each key once)");
        }
      }
      tags.add(key);
      tags.add(value);
      return this;
    }

    /** The options. */
    public MetricsOptions build() {
      return new MetricsOptions(this);
    }
  }
}
