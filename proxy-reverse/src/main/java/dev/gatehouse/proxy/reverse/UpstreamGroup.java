package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyExchange;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The servers a route sends requests to, and how it chooses among them (nginx's {@code upstream}
 * block). Connections to each server are pooled and kept alive by the proxy.
 *
 * <pre>{@code
 * UpstreamGroup backend = UpstreamGroup.builder()
 *     .add("http://app-1.internal:8080", 3)
 *     .add("http://app-2.internal:8080", 3)
 *     .add("http://app-3.internal:8080", 2)
 *     .build();                       // smooth weighted round robin, as nginx's weight=
 * }</pre>
 */
public final class UpstreamGroup {
  private final List<UpstreamServer> servers;
  private final LoadBalancing.Selector selector;
  private final String description;

  private UpstreamGroup(List<UpstreamServer> servers, LoadBalancing balancing) {
    this.servers = List.copyOf(servers);
    this.selector = balancing.selector(this.servers);
    StringBuilder sb = new StringBuilder(balancing.name()).append('[');
    for (int i = 0; i < this.servers.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(this.servers.get(i));
    }
    this.description = sb.append(']').toString();
  }

  /** A group of servers with equal weight, chosen in turn. */
  public static UpstreamGroup of(String... uris) {
    Objects.requireNonNull(uris, "uris");
    Builder b = builder();
    for (String u : uris) {
      b.add(u);
    }
    return b.build();
  }

  /** A builder for a group with weights or another load-balancing policy. */
  public static Builder builder() {
    return new Builder();
  }

  /** The servers, in the order added. */
  public List<String> servers() {
    List<String> out = new ArrayList<>();
    for (UpstreamServer s : servers) {
      out.add(s.uri().toString());
    }
    return out;
  }

  /** Chooses the server for one exchange. */
  UpstreamServer choose(ProxyExchange exchange) {
    return selector.select(exchange);
  }

  @Override
  public String toString() {
    return description;
  }

  /** Builds an {@link UpstreamGroup}. */
  public static final class Builder {
    private final List<UpstreamServer> servers = new ArrayList<>();
    private LoadBalancing balancing = LoadBalancing.weightedRoundRobin();

    private Builder() {}

    /** Adds a server with weight 1. */
    public Builder add(String uri) {
      return add(uri, 1);
    }

    /**
     * Adds a server, e.g. {@code http://app-1.internal:8080}, with a weight (1-1000): a server of weight 3
     * gets three times the requests of a server of weight 1.
     */
    public Builder add(String uri, int weight) {
      Objects.requireNonNull(uri, "uri");
      if (weight < 1 || weight > 1000) {
        throw new IllegalArgumentException("weight: " + weight + " (expected: 1-1000)");
      }
      servers.add(new UpstreamServer(parse(uri), weight));
      return this;
    }

    /** How a server is chosen. @implSpec Defaults to {@link LoadBalancing#weightedRoundRobin()}. */
    public Builder loadBalancing(LoadBalancing balancing) {
      this.balancing = Objects.requireNonNull(balancing, "loadBalancing");
      return this;
    }

    /** Builds the group. @throws IllegalStateException with no servers */
    public UpstreamGroup build() {
      if (servers.isEmpty()) {
        throw new IllegalStateException("upstream group has no servers (expected: at least one add(...))");
      }
      return new UpstreamGroup(servers, balancing);
    }

    static URI parse(String uri) {
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
