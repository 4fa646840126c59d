package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyBuilder;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Builds a reverse proxy: the shared settings of {@link ProxyBuilder} plus routes. Routes are tried in
 * the order added and the first match wins; a request no route matches gets 404.
 */
public final class ReverseProxyBuilder extends ProxyBuilder<ReverseProxyBuilder> {
  private final List<Route> routes = new ArrayList<>();
  private boolean preserveHost = true;

  ReverseProxyBuilder() {}

  /** Adds a route; routes are matched in the order added. */
  public ReverseProxyBuilder addRoute(Route route) {
    routes.add(Objects.requireNonNull(route, "route"));
    return this;
  }

  /**
   * Whether the upstream gets the client's {@code Host} (as nginx's {@code proxy_set_header Host $host})
   * or the upstream server's own authority.
   *
   * @implSpec Defaults to true.
   */
  public ReverseProxyBuilder preserveHost(boolean preserveHost) {
    this.preserveHost = preserveHost;
    return this;
  }

  /**
   * Builds the proxy; its routes can be replaced later with {@link ReverseProxyServer#routes(List)}.
   *
   * @throws IllegalStateException with no routes, or when a route can never match because an earlier
   *     one has the same conditions
   */
  @Override
  public ReverseProxyServer build() {
    if (routes.isEmpty()) {
      throw new IllegalStateException("no routes configured (expected: at least one addRoute(...))");
    }
    List<Route> snapshot = List.copyOf(routes);
    RouteSet.checkDistinct(snapshot);
    RouteTable table = new RouteTable(preserveHost, cacheForTerminal());
    ProxyRuntime engine = buildServer(table, "reverse");
    table.bind(engine, snapshot);
    return new ReverseServer(engine, table);
  }
}
