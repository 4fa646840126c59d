package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.ProxyAttributes;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamUnavailableException;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.spi.CacheStep;
import dev.gatehouse.proxy.spi.Exchange;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import dev.gatehouse.proxy.spi.Terminal;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;

/**
 * The reverse proxy's terminal step: match a route, run its filters, the route's cache if it has one,
 * then choose a server and forward, with retries on the next server as the route's {@link RetryPolicy}
 * allows ({@link Forwarding}). The routes can be replaced as a whole while the proxy runs ({@link
 * RouteSwitch}); each exchange matches against the version it read first.
 */
final class RouteTable implements Terminal {
  /** The server a cached route's response came from, for the sticky cookie (added outside the cache). */
  static final AttributeKey<UpstreamServer> STICKY_SERVER = AttributeKey.of("stickyServer");

  private final boolean preserveHost;
  /** The proxy's cache ({@code builder.cache}), for routes without one of their own; null for none. */
  private final HttpCache proxyCache;
  private ProxyRuntime runtime;
  /** The routes in use; replaced as a whole, read once per exchange. */
  private volatile RouteSet current;
  private RouteSwitch routeSwitch;
  /** The proxy's clock ({@code ProxyBuilder.clock}) in nanoseconds: retry budgets and deadlines. */
  private volatile LongSupplier clock = System::nanoTime;

  RouteTable(boolean preserveHost, HttpCache proxyCache) {
    this.preserveHost = preserveHost;
    this.proxyCache = proxyCache;
  }

  /** Resolves the routes against the built proxy and ties their groups' clock and health checks to it. */
  void bind(ProxyRuntime runtime, List<Route> routes) {
    this.runtime = runtime;
    clock = runtime::nanoTime;
    routeSwitch = new RouteSwitch(runtime, this, resolve(routes, null));
  }

  /** A version of the routes resolved against the proxy; routes also in {@code previous} keep their state. */
  RouteSet resolve(List<Route> routes, RouteSet previous) {
    return RouteSet.of(routes, runtime, previous, proxyCache);
  }

  RouteSet current() {
    return current;
  }

  void current(RouteSet routes) {
    this.current = routes;
  }

  List<Route> routes() {
    return current.routes;
  }

  /** Replaces the routes as a whole; see {@link ReverseProxyServer#routes(List)}. */
  void replace(List<Route> routes) {
    routeSwitch.replace(routes);
  }

  @Override
  public CompletionStage<ProxyResponse> handle(Exchange ex) {
    String path = Paths.normalize(ex.request().path());
    if (path == null) {
      return CompletableFuture.completedFuture(ProxyResponse.of(400, "Bad Request: path climbs above the root\n"));
    }
    String host = RouteMatcher.hostOf(ex.request().authority());
    RouteSet table = hold();
    CompletionStage<ProxyResponse> out;
    try {
      out = match(ex, table, path, host);
    } catch (RuntimeException | Error e) {
      table.exit();
      throw e;
    }
    // held from the match to the response head (or failure): every try chooses its server meanwhile
    out.whenComplete((r, e) -> table.exit());
    return out;
  }

  /** The current routes, held for an exchange (see {@link RouteSet#enter}). */
  private RouteSet hold() {
    for (;;) {
      RouteSet table = current;
      if (table.enter()) {
        return table;
      }
      // drained between the read and the hold: a newer version is current already
    }
  }

  private CompletionStage<ProxyResponse> match(Exchange ex, RouteSet table, String path, String host) {
    for (Route route : table.routes) {
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
        ex.routeChosen(route.name());
        CacheStep cache = table.cache(route);
        if (cache == null) {
          return runtime.runFilters(ex, route.filters(), x -> forward(x, table, route, false));
        }
        // the cache is the last step before the upstream: after the route's filters
        return runtime.runFilters(ex, route.filters(), x -> cache.handle(x, y -> forward(y, table, route, true))
            .thenApply(r -> withStickyCookie(x, route, r)));
      }
    }
    return CompletableFuture.completedFuture(ProxyResponse.of(404, "Not Found\n"));
  }

  /** Adds a cached route's sticky cookie outside the cache, so the cache never sees (or stores) it. */
  private static ProxyResponse withStickyCookie(Exchange ex, Route route, ProxyResponse response) {
    UpstreamServer server = ex.attribute(STICKY_SERVER).orElse(null);
    String cookie = route.group().stickyCookie();
    if (server != null && cookie != null) {
      response.headers().add("Set-Cookie", cookie + "=" + server.id() + "; Path=/; HttpOnly"
          + (ex.isSecure() ? "; Secure" : ""));
    }
    return response;
  }

  /**
   * Forwards on the route's group. The version of the routes is held again for the tries (the
   * exchange's own hold covers them, and a background revalidation the cache starts from it).
   */
  private CompletionStage<ProxyResponse> forward(Exchange ex, RouteSet table, Route route, boolean cached) {
    if (!table.enter()) {
      // only a step that outlived its exchange's hold gets here; its group may have no pools left
      return CompletableFuture.failedFuture(new UpstreamUnavailableException("route " + route
          + ": the routes were replaced and its upstream group retired"));
    }
    Forwarding f;
    try {
      Forwarding.RouteRuntime rt = table.runtime(route);
      RetryPolicy policy = route.retryPolicy();
      if (policy.maxRetries() > 0 && policy.bufferBodyUpTo() > 0) {
        ex.enableRequestReplay(policy.bufferBodyUpTo());
      }
      rt.budget().onRequest(clock.getAsLong());
      f = new Forwarding(ex, route, rt, clock, preserveHost, cached);
    } catch (RuntimeException e) {
      table.exit();
      throw e;
    }
    f.result.whenComplete((r, e) -> table.exit());
    f.start();
    return f.result;
  }
}
