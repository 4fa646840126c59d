package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.MalformedRequestException;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.UpstreamUnavailableException;
import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.internal.cache.CacheAccess;
import dev.gatehouse.proxy.internal.cache.CacheEngine;
import dev.gatehouse.proxy.internal.CallListener;
import dev.gatehouse.proxy.internal.CallOptions;
import dev.gatehouse.proxy.internal.Engine;
import dev.gatehouse.proxy.internal.ExchangeImpl;
import dev.gatehouse.proxy.internal.FilterChain;
import dev.gatehouse.proxy.internal.ResponseImpl;
import dev.gatehouse.proxy.internal.UpstreamCall;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reverse proxy's terminal step: match a route, run its filters, choose a server and forward, with
 * retries on the next server as the route's {@link RetryPolicy} allows.
 */
final class RouteTable implements Filter {
  private static final Logger log = LoggerFactory.getLogger(RouteTable.class);

  private final List<Route> routes;
  private final boolean preserveHost;
  private final Map<Route, RouteRuntime> runtimes = new IdentityHashMap<>();
  /** Per route: the cache step in front of its upstream, if the route is cached. */
  private final Map<Route, CacheEngine> caches = new IdentityHashMap<>();
  /** The server a cached route's response came from, for the sticky cookie (added outside the cache). */
  private static final AttributeKey<UpstreamServer> STICKY_SERVER = AttributeKey.of("stickyServer");

  /** Per route: call options resolved against the proxy's settings, and the retry budget. */
  private static final class RouteRuntime {
    final CallOptions options;
    final RetryBudget budget;

    RouteRuntime(CallOptions options, RetryBudget budget) {
      this.options = options;
      this.budget = budget;
    }
  }

  RouteTable(List<Route> routes, boolean preserveHost, HttpCache proxyCache) {
    this.routes = routes;
    this.preserveHost = preserveHost;
    for (Route r : routes) {
      HttpCache c = r.noCache() ? null : r.cache() != null ? r.cache() : proxyCache;
      if (c != null) {
        caches.put(r, CacheAccess.engine(c));
      }
    }
  }

  /** Resolves per-route settings against the built proxy and ties the groups' health checks to it. */
  void bind(Engine engine) {
    List<UpstreamGroup> groups = new ArrayList<>();
    for (Route r : routes) {
      UpstreamGroup g = r.group();
      RetryPolicy p = r.retryPolicy();
      CallOptions o = new CallOptions(r.connectTimeout(), r.readTimeout(), r.writeTimeout(), p.tryTimeout(), 0,
          g.poolSettings(engine.config()), null, true);
      runtimes.put(r, new RouteRuntime(o, new RetryBudget(p.budgetRatio(), p.minRetriesPerSecond())));
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
        CacheEngine cache = caches.get(route);
        if (cache == null) {
          return FilterChain.run(ex, route.filters(), x -> forward(x, route));
        }
        // the cache is the last step before the upstream: after the route's filters
        return FilterChain.run(ex, route.filters(), x -> cache.handle(x, y -> forward(y, route))
            .thenApply(r -> withStickyCookie(x, route, r)));
      }
    }
    return CompletableFuture.completedFuture(ProxyResponse.of(404, "Not Found\n"));
  }

  /** Adds a cached route's sticky cookie outside the cache, so the cache never sees (or stores) it. */
  private static ProxyResponse withStickyCookie(ExchangeImpl ex, Route route, ProxyResponse response) {
    UpstreamServer server = ex.attribute(STICKY_SERVER).orElse(null);
    String cookie = route.group().stickyCookie();
    if (server != null && cookie != null) {
      response.headers().add("Set-Cookie", cookie + "=" + server.id() + "; Path=/; HttpOnly"
          + (ex.isSecure() ? "; Secure" : ""));
    }
    return response;
  }

  private CompletionStage<ProxyResponse> forward(ExchangeImpl ex, Route route) {
    RouteRuntime rt = runtimes.get(route);
    RetryPolicy policy = route.retryPolicy();
    if (policy.maxRetries() > 0 && policy.bufferBodyUpTo() > 0) {
      ex.enableRequestReplay(policy.bufferBodyUpTo());
    }
    rt.budget.onRequest(System.nanoTime());
    Forwarding f = new Forwarding(ex, route, rt);
    f.attempt();
    return f.result;
  }

  /** One request's tries. Runs on the exchange's I/O thread. */
  private final class Forwarding {
    final ExchangeImpl ex;
    final Route route;
    final UpstreamGroup group;
    final RouteRuntime rt;
    final RetryPolicy policy;
    final CompletableFuture<ProxyResponse> result = new CompletableFuture<>();
    final List<UpstreamServer> tried = new ArrayList<>(2);
    final long deadline;
    int retries;
    Throwable lastError;

    Forwarding(ExchangeImpl ex, Route route, RouteRuntime rt) {
      this.ex = ex;
      this.route = route;
      this.group = route.group();
      this.rt = rt;
      this.policy = route.retryPolicy();
      this.deadline = route.totalTimeout() == null ? 0 : ex.startNanos() + route.totalTimeout().toNanos();
    }

    void attempt() {
      UpstreamServer server;
      try {
        server = group.choose(ex, tried);
      } catch (UpstreamUnavailableException e) {
        log.debug("{}: {}", ex, e.getMessage());
        result.completeExceptionally(lastError != null ? lastError : e);
        return;
      }
      tried.add(server);
      if (!preserveHost) {
        ex.request().headers().set("Host", server.endpoint().authority());
      }
      Outcome outcome = new Outcome(server);
      UpstreamCall call;
      try {
        call = ex.call(server.endpoint(), rt.options.with(outcome, deadline == 0 ? 0 : deadline));
      } catch (RuntimeException e) {
        outcome.onEnd(e);
        result.completeExceptionally(e);
        return;
      }
      call.response().whenComplete((response, error) -> done(server, call, response, error));
    }

    private void done(UpstreamServer server, UpstreamCall call, ProxyResponse response, Throwable error) {
      if (error != null) {
        Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        lastError = e;
        if (!(e instanceof CancellationException) && retryable(call, e) && mayRetry()) {
          log.info("{}: retrying on another server after {} failed: {}", ex, server.key(), e.getMessage());
          attempt();
          return;
        }
        result.completeExceptionally(e);
        return;
      }
      int status = response.status();
      if (policy.retriesStatus(status) && idempotent(ex.request().method()) && mayRetry()) {
        log.info("{}: retrying on another server after {} answered {}", ex, server.key(), status);
        ((ResponseImpl) response).call().abort();
        lastError = null;
        attempt();
        return;
      }
      String cookie = group.stickyCookie();
      if (cookie != null && !server.id().equals(Cookies.get(ex, cookie))) {
        if (caches.containsKey(route)) {
          ex.attribute(STICKY_SERVER, server);
        } else {
          response.headers().add("Set-Cookie", cookie + "=" + server.id() + "; Path=/; HttpOnly"
              + (ex.isSecure() ? "; Secure" : ""));
        }
      }
      result.complete(response);
    }

    private boolean mayRetry() {
      if (retries >= policy.maxRetries() || ex.isFinished() || !ex.canResendRequest()) {
        return false;
      }
      if (!rt.budget.tryRetry(System.nanoTime())) {
        log.warn("{}: not retried: retry budget of route {} used up ({} of requests + {}/s)", ex, route,
            policy.budgetRatio(), policy.minRetriesPerSecond());
        return false;
      }
      retries++;
      return true;
    }

    /** Whether a failed try may be repeated, per {@link RetryPolicy}. */
    private boolean retryable(UpstreamCall call, Throwable e) {
      boolean upstreamFailure = e instanceof UpstreamConnectException || e instanceof UpstreamTimeoutException
          || e instanceof UpstreamResponseException || e instanceof UpstreamUnavailableException;
      if (!upstreamFailure || e instanceof MalformedRequestException) {
        return false;
      }
      if (!call.requestBytesWritten()) {
        return true; // never reached the server
      }
      return idempotent(ex.request().method())
          && (e instanceof UpstreamResponseException || e instanceof UpstreamTimeoutException);
    }

    /** Request slot, passive health and in-flight accounting of one try. */
    private final class Outcome implements CallListener {
      private final UpstreamServer server;
      private boolean head;
      private boolean ended;

      Outcome(UpstreamServer server) {
        this.server = server;
      }

      @Override
      public void onResponseHead(int status) {
        head = true;
        if (status >= 500 && group.counts5xx()) {
          group.recordFailure(server, "status " + status);
        } else {
          group.recordSuccess(server);
        }
      }

      @Override
      public void onEnd(Throwable error) {
        if (ended) {
          return;
        }
        ended = true;
        group.release(server);
        if (!head && error != null && group.outlierDetection()
            && (error instanceof UpstreamConnectException || error instanceof UpstreamTimeoutException
                || error instanceof UpstreamResponseException)) {
          group.recordFailure(server, error.getMessage());
        }
      }
    }
  }

  /** RFC 9110 §9.2.2. */
  static boolean idempotent(String method) {
    switch (method) {
      case "GET":
      case "HEAD":
      case "OPTIONS":
      case "TRACE":
      case "PUT":
      case "DELETE":
        return true;
      default:
        return false;
    }
  }
}
