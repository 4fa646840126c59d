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
import dev.gatehouse.proxy.events.Decisions;
import dev.gatehouse.proxy.internal.CallListener;
import dev.gatehouse.proxy.internal.Engine;
import dev.gatehouse.proxy.internal.ExchangeImpl;
import dev.gatehouse.proxy.internal.FilterChain;
import dev.gatehouse.proxy.internal.ResponseImpl;
import dev.gatehouse.proxy.internal.UpstreamCall;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import java.util.ArrayList;
import java.util.List;
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

  private final boolean preserveHost;
  /** The routes in use; replaced as a whole, read once per exchange. */
  private volatile RouteSet current;
  private RouteSwitch routeSwitch;

  RouteTable(boolean preserveHost) {
    this.preserveHost = preserveHost;
  }

  /** Resolves the routes against the built proxy and ties their groups' health checks to it. */
  void bind(Engine engine, List<Route> routes) {
    routeSwitch = new RouteSwitch(engine, this, RouteSet.of(routes, engine.config(), null));
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
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain unused) {
    ExchangeImpl ex = (ExchangeImpl) exchange;
    String path = Paths.normalize(ex.request().path());
    if (path == null) {
      return CompletableFuture.completedFuture(ProxyResponse.of(400, "Bad Request: path climbs above the root\n"));
    }
    String host = RouteMatcher.hostOf(ex.request().authority());
    RouteSet table = current;
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
        Telemetry.routeChosen(ex, route.name());
        RouteSet.Runtime rt = table.runtime(route);
        return FilterChain.run(ex, route.filters(), x -> forward(x, route, rt));
      }
    }
    return CompletableFuture.completedFuture(ProxyResponse.of(404, "Not Found\n"));
  }

  private CompletionStage<ProxyResponse> forward(ExchangeImpl ex, Route route, RouteSet.Runtime rt) {
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
    final RouteSet.Runtime rt;
    final RetryPolicy policy;
    final CompletableFuture<ProxyResponse> result = new CompletableFuture<>();
    final List<UpstreamServer> tried = new ArrayList<>(2);
    final long deadline;
    int retries;
    Throwable lastError;

    Forwarding(ExchangeImpl ex, Route route, RouteSet.Runtime rt) {
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
        Telemetry.decision(ex, Decisions.UPSTREAM, group.circuitOpen() ? "circuit-open" : "no-server", group.name());
        result.completeExceptionally(lastError != null ? lastError : e);
        return;
      }
      tried.add(server);
      Telemetry.upstream(ex, group.name(), server.key());
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
        response.headers().add("Set-Cookie", cookie + "=" + server.id() + "; Path=/; HttpOnly"
            + (ex.isSecure() ? "; Secure" : ""));
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
