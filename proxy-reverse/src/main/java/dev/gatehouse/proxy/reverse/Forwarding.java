package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.MalformedRequestException;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.UpstreamUnavailableException;
import dev.gatehouse.proxy.events.Decisions;
import dev.gatehouse.proxy.spi.CallListener;
import dev.gatehouse.proxy.spi.CallOptions;
import dev.gatehouse.proxy.spi.Exchange;
import dev.gatehouse.proxy.spi.UpstreamCall;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request's tries on the servers of its route's group, as the route's {@link RetryPolicy} allows.
 * Runs on the exchange's I/O thread.
 *
 * <ul>
 *   <li>A retry goes to a server not tried yet for this request; to one already tried only with {@link
 *       RetryPolicy.Builder#retrySameServer}. With no such server the last failure is final.
 *   <li>A try that never reached its server (connection refused or timed out, TLS failed, pool limit) is
 *       retried on a server not tried yet without counting against {@code maxRetries} or the budget: at
 *       most one such retry per server of the group.
 *   <li>No retry starts once the retry deadline has passed on the proxy's clock, and a retry waits for
 *       its response head only for what is left of it. No retry starts once the route's total timeout
 *       has passed either (that one is an I/O timer of the engine, on {@link System#nanoTime()}).
 * </ul>
 */
final class Forwarding {
  private static final Logger log = LoggerFactory.getLogger(RouteTable.class);
  /**
   * Least time left before a deadline for a retry to start: less cannot bring an answer (timers have
   * millisecond resolution) and would only load another server.
   */
  static final long MIN_RETRY_NANOS = 5_000_000L;

  private final Exchange ex;
  private final Route route;
  private final RouteRuntime rt;
  private final UpstreamGroup group;
  private final RetryPolicy policy;
  private final LongSupplier clock;
  private final boolean preserveHost;
  private final boolean cachedRoute;
  final CompletableFuture<ProxyResponse> result = new CompletableFuture<>();
  private final List<UpstreamServer> tried = new ArrayList<>(2);
  /** {@link System#nanoTime()} by which the whole response must be in (the total timeout), 0 for none. */
  private final long totalDeadline;
  /** On the proxy's clock: no retry starts later than {@link #MIN_RETRY_NANOS} before this. */
  private final long retryCutoff;
  private final boolean hasRetryCutoff;
  private int retries;
  private Throwable lastError;

  /** Per route: call options resolved against the proxy's settings, the retry budget and window. */
  record RouteRuntime(CallOptions options, RetryBudget budget, long retryWindowNanos) {}

  /**
   * @param cachedRoute the route is cached: the sticky cookie is added outside the cache (from {@link
   *     RouteTable#STICKY_SERVER}), so the cache never stores it
   */
  Forwarding(Exchange ex, Route route, RouteRuntime rt, LongSupplier clock, boolean preserveHost,
      boolean cachedRoute) {
    this.cachedRoute = cachedRoute;
    this.ex = ex;
    this.route = route;
    this.rt = rt;
    this.group = route.group();
    this.policy = route.retryPolicy();
    this.clock = clock;
    this.preserveHost = preserveHost;
    this.totalDeadline = route.totalTimeout() == null ? 0 : ex.startNanos() + route.totalTimeout().toNanos();
    this.hasRetryCutoff = rt.retryWindowNanos() > 0;
    this.retryCutoff = hasRetryCutoff ? clock.getAsLong() + rt.retryWindowNanos() : 0;
  }

  /** Starts the first try. */
  void start() {
    UpstreamServer server;
    try {
      server = group.chooser().choose(ex, tried, false, clock.getAsLong());
    } catch (UpstreamUnavailableException e) {
      log.debug("{}: {}", ex, e.getMessage());
      Decisions.report(ex, Decisions.UPSTREAM, group.circuitOpen() ? "circuit-open" : "no-server", group.name());
      result.completeExceptionally(e);
      return;
    } catch (RuntimeException e) {
      policyFailed(e);
      return;
    }
    attempt(server, null);
  }

  private void policyFailed(RuntimeException e) {
    log.warn("{}: upstream group {} could not choose a server", ex, group.name(), e);
    result.completeExceptionally(e); // a user-written LoadBalancing failed: 500
  }

  /** Starts a try on {@code server} (its slot taken); {@code tryTimeout} overrides the route's when set. */
  private void attempt(UpstreamServer server, Duration tryTimeout) {
    tried.add(server);
    ex.upstreamChosen(group.name(), server.key());
    if (!preserveHost) {
      ex.request().headers().set("Host", server.endpoint().authority());
    }
    Outcome outcome = new Outcome(server);
    CallOptions o = rt.options();
    CallOptions options = new CallOptions(o.connectTimeout(), o.readTimeout(), o.writeTimeout(),
        tryTimeout != null ? tryTimeout : o.tryTimeout(), totalDeadline, o.pool(), outcome, o.upgrade());
    UpstreamCall call;
    try {
      call = ex.call(server.endpoint(), options);
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
      if (e instanceof CancellationException || !retryable(call, e)) {
        result.completeExceptionally(e);
        return;
      }
      if (!retry(server, "failed: " + e.getMessage(), neverReached(call, e), null)) {
        result.completeExceptionally(e);
      }
      return;
    }
    int status = response.status();
    if (policy.retriesStatus(status) && idempotent(ex.request().method())
        && retry(server, "answered " + status, false, call)) {
      return;
    }
    String cookie = group.stickyCookie();
    if (cookie != null && !server.id().equals(Cookies.get(ex, cookie))) {
      if (cachedRoute) {
        ex.attribute(RouteTable.STICKY_SERVER, server);
      } else {
        response.headers().add("Set-Cookie", cookie + "=" + server.id() + "; Path=/; HttpOnly"
            + (ex.isSecure() ? "; Secure" : ""));
      }
    }
    result.complete(response);
  }

  /**
   * Starts a retry after a try on {@code failed} did not do, if the policy allows one and a server can
   * take it; the call whose response is retried ({@code answered}) is given up first.
   *
   * @return false when no retry started (the caller passes the failure or response on)
   */
  private boolean retry(UpstreamServer failed, String what, boolean neverReached, UpstreamCall answered) {
    if (policy.maxRetries() == 0 || ex.isFinished() || !ex.canResendRequest()) {
      return false;
    }
    long now = clock.getAsLong();
    if (hasRetryCutoff && retryCutoff - now < MIN_RETRY_NANOS) {
      log.debug("{}: not retried after {} {}: the retry deadline of route {} has passed", ex, failed.authority(),
          what, route);
      return false;
    }
    // the total timeout is enforced by the engine's I/O timer, which reads System.nanoTime(): so is this
    if (totalDeadline != 0 && totalDeadline - System.nanoTime() < MIN_RETRY_NANOS) {
      log.debug("{}: not retried after {} {}: the total timeout of route {} has passed", ex, failed.authority(),
          what, route);
      return false;
    }
    UpstreamServer next = null;
    boolean free = false;
    try {
      if (neverReached) {
        next = choose(false, now); // a server not tried yet, without using up a retry
        free = next != null;
      }
      if (next == null && retries < policy.maxRetries()) {
        next = choose(policy.retrySameServer(), now);
        if (next != null && !rt.budget().tryRetry(now)) {
          group.chooser().release(next);
          log.warn("{}: not retried: retry budget of route {} used up ({} of requests + {}/s)", ex, route,
              policy.budgetRatio(), policy.minRetriesPerSecond());
          return false;
        }
      }
    } catch (RuntimeException e) {
      if (answered != null) {
        answered.abort();
      }
      policyFailed(e);
      return true;
    }
    if (next == null) {
      log.debug("{}: not retried after {} {}: no other server of upstream group {} can take it", ex,
          failed.authority(), what, group.name());
      return false;
    }
    if (!free) {
      retries++;
    }
    log.info("{}: retrying on {} after {} {}", ex, next.authority(), failed.authority(), what);
    if (answered != null) {
      answered.abort();
    }
    lastError = null;
    Duration tryTimeout = null;
    if (hasRetryCutoff) {
      long left = retryCutoff - now;
      Duration own = rt.options().tryTimeout();
      tryTimeout = own != null && own.toNanos() < left ? own : Duration.ofNanos(left);
    }
    attempt(next, tryTimeout);
    return true;
  }

  /** A server for a retry with its slot taken, or null when none can take it. */
  private UpstreamServer choose(boolean mayRepeat, long now) {
    try {
      return group.chooser().choose(ex, tried, mayRepeat, now);
    } catch (UpstreamUnavailableException e) {
      return null;
    }
  }

  /** Whether a failed try may be repeated, per {@link RetryPolicy}. */
  private boolean retryable(UpstreamCall call, Throwable e) {
    boolean upstreamFailure = e instanceof UpstreamConnectException || e instanceof UpstreamTimeoutException
        || e instanceof UpstreamResponseException || e instanceof UpstreamUnavailableException;
    if (!upstreamFailure || e instanceof MalformedRequestException) {
      return false;
    }
    if (neverReached(call, e)) {
      return true;
    }
    return idempotent(ex.request().method())
        && (e instanceof UpstreamResponseException || e instanceof UpstreamTimeoutException);
  }

  /**
   * Whether the try cannot have reached its server: no request byte was written, or the last connection
   * attempt failed or was refused by a limit. (A request written to a pooled connection that turned out
   * dead is sent again on a new connection by the engine itself; if that connection then fails, the
   * server never got the request either.)
   */
  private static boolean neverReached(UpstreamCall call, Throwable e) {
    return !call.requestBytesWritten() || e instanceof UpstreamConnectException
        || e instanceof UpstreamUnavailableException;
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
      if (status >= 500 && group.ejection().counts5xx()) {
        group.ejection().recordFailure(server, "status " + status, group.now());
      } else {
        group.ejection().recordSuccess(server);
      }
    }

    @Override
    public void onEnd(Throwable error) {
      if (ended) {
        return;
      }
      ended = true;
      group.chooser().release(server);
      if (!head && error != null && group.ejection().enabled()
          && (error instanceof UpstreamConnectException || error instanceof UpstreamTimeoutException
              || error instanceof UpstreamResponseException)) {
        group.ejection().recordFailure(server, error.getMessage(), group.now());
      }
    }
  }
}
