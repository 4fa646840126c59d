package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.ExchangeImpl;
import dev.gatehouse.proxy.internal.FilterChain;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** The reverse proxy's terminal step: match a route, run its filters, forward to a chosen server. */
final class RouteTable implements Filter {
  private final List<Route> routes;
  private final boolean preserveHost;

  RouteTable(List<Route> routes, boolean preserveHost) {
    this.routes = routes;
    this.preserveHost = preserveHost;
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain unused) {
    ExchangeImpl ex = (ExchangeImpl) exchange;
    String path = Paths.normalize(ex.request().path());
    if (path == null) {
      return CompletableFuture.completedFuture(ProxyResponse.of(400, "Bad Request: path climbs above the root\n"));
    }
    String host = RouteMatcher.hostOf(ex.request().authority());
    for (Route route : routes) {
      if (route.matcher().matches(ex.request(), path, host)) {
        String forwarded = path;
        if (route.strippedPrefix() != null) {
          String rest = route.strippedPrefix().equals("/") ? path : path.substring(route.strippedPrefix().length());
          forwarded = route.replacement() + rest;
          if (forwarded.isEmpty()) {
            forwarded = "/";
          } else if (!forwarded.startsWith("/")) {
            forwarded = "/" + forwarded;
          }
        }
        ex.request().path(forwarded);
        return FilterChain.run(ex, route.filters(), x -> forward(x, route));
      }
    }
    return CompletableFuture.completedFuture(ProxyResponse.of(404, "Not Found\n"));
  }

  private CompletionStage<ProxyResponse> forward(ExchangeImpl ex, Route route) {
    UpstreamServer server = route.group().choose(ex);
    if (!preserveHost) {
      ex.request().headers().set("Host", server.endpoint().authority());
    }
    return ex.forwardTo(server.endpoint());
  }
}
