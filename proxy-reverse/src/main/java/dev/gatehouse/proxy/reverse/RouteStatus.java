package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.internal.observe.StatusContributor;
import java.util.ArrayList;
import java.util.List;

/** The reverse proxy's part of {@link ProxyStatus}: its routes, and each group with its servers. */
final class RouteStatus implements StatusContributor {
  private final List<Route> routes;
  private final List<UpstreamGroup> groups;

  RouteStatus(List<Route> routes, List<UpstreamGroup> groups) {
    this.routes = List.copyOf(routes);
    this.groups = List.copyOf(groups);
  }

  @Override
  public List<ProxyStatus.Route> routes() {
    List<ProxyStatus.Route> out = new ArrayList<>(routes.size());
    for (Route r : routes) {
      out.add(new ProxyStatus.Route(r.name(), r.matcher().toString(), r.group().name()));
    }
    return out;
  }

  @Override
  public List<ProxyStatus.Group> groups() {
    List<ProxyStatus.Group> out = new ArrayList<>(groups.size());
    for (UpstreamGroup g : groups) {
      out.add(of(g));
    }
    return out;
  }

  static ProxyStatus.Group of(UpstreamGroup g) {
    int max = g.maxConcurrentRequestsPerServer();
    List<ProxyStatus.Server> servers = new ArrayList<>();
    for (ServerStatus s : g.status()) {
      boolean circuitOpen = max > 0 && s.state() == ServerState.AVAILABLE && s.activeRequests() >= max;
      servers.add(new ProxyStatus.Server(s.uri(), s.weight(), s.state().name(), s.activeRequests(),
          s.consecutiveFailures(), s.ejections(), circuitOpen));
    }
    return new ProxyStatus.Group(g.name(), g.loadBalancingName(), servers);
  }
}
