package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyAttributes;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.CallOptions;
import dev.gatehouse.proxy.internal.Engine;
import dev.gatehouse.proxy.internal.ExchangeImpl;
import dev.gatehouse.proxy.internal.FilterChain;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;

/**
 * The reverse proxy's terminal step: match a route, run its filters, choose a server and forward, with
 * retries on the next server as the route's {@link RetryPolicy} allows.
 */
final class RouteTable implements Filter {
  private final List<Route> routes;
  private final boolean preserveHost;
  private final Map<Route, Forwarding.RouteRuntime> runtimes = new IdentityHashMap<>();
  /** The proxy's clock ({@code ProxyBuilder.clock}) in nanoseconds: retry budgets and deadlines. */
  private volatile LongSupplier clock = System::nanoTime;

  RouteTable(List<Route> routes, boolean preserveHost) {
    this.routes = routes;
    this.preserveHost = preserveHost;
  }

  /** Resolves per-route settings against the built proxy and ties the groups' health checks to it. */
  void bind(Engine engine) {
    clock = engine.config()::nanoTime;
    List<UpstreamGroup> groups = new ArrayList<>();
    for (Route r : routes) {
      UpstreamGroup g = r.group();
      RetryPolicy p = r.retryPolicy();
      CallOptions o = new CallOptions(r.connectTimeout(), r.readTimeout(), r.writeTimeout(), p.tryTimeout(), 0,
          g.poolSettings(engine.config()), null, true);
      Duration readTimeout = r.readTimeout() != null ? r.readTimeout() : engine.config().readTimeout();
      Duration window = p.deadline() != null ? p.deadline() : readTimeout;
      runtimes.put(r, new Forwarding.RouteRuntime(o, new RetryBudget(p.budgetRatio(), p.minRetriesPerSecond()),
          window.toNanos()));
      if (groups.stream().noneMatch(x -> x == g)) {
        groups.add(g);
      }
    }
    for (UpstreamGroup g : groups) {
      g.attach(engine);
    }
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
        ex.attribute(ProxyAttributes.ROUTE, route.name());
        return FilterChain.run(ex, route.filters(), x -> forward(x, route));
      }
    }
    return CompletableFuture.completedFuture(ProxyResponse.of(404, "Not Found\n"));
  }

  private CompletionStage<ProxyResponse> forward(ExchangeImpl ex, Route route) {
    Forwarding.RouteRuntime rt = runtimes.get(route);
    RetryPolicy policy = route.retryPolicy();
    if (policy.maxRetries() > 0 && policy.bufferBodyUpTo() > 0) {
      ex.enableRequestReplay(policy.bufferBodyUpTo());
    }
    rt.budget().onRequest(clock.getAsLong());
    Forwarding f = new Forwarding(ex, route, rt, clock, preserveHost);
    f.start();
    return f.result;
  }
}
