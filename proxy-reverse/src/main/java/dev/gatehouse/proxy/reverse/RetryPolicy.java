package dev.gatehouse.proxy.reverse;

import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * When a failed request is tried again on another server of its group (nginx's {@code
 * proxy_next_upstream}, Envoy's retry policy).
 *
 * <ul>
 *   <li>A request that never reached a server (connection refused or timed out, TLS handshake failed,
 *       connection or pending-request limit reached) is always retried: the server cannot have acted
 *       on it.
 *   <li>A request that was sent is retried only if its method is idempotent (GET, HEAD, OPTIONS, TRACE,
 *       PUT, DELETE) and the failure is retryable: the connection was reset or closed before the
 *       response, the response did not start within the read or try timeout, or the status is one of
 *       {@link Builder#retryOnStatus}.
 *   <li>A request body can be sent again only if it was kept: at most {@link Builder#bufferBodyUpTo}
 *       bytes are kept as they stream; a larger body is never retried once sent.
 *   <li>A retry budget caps retries at a share of the route's requests over the last 10 seconds (plus
 *       a few per second), so that retries cannot multiply the load of an outage.
 *   <li>A retry goes to a server not tried yet for the request. With none left (a group of one server,
 *       or the others unhealthy, ejected or busy) the failure is final, unless {@link
 *       Builder#retrySameServer} allows trying the same server again.
 *   <li>A try that never reached its server does not use up a retry or the budget when a server not
 *       tried yet can take the request: a refused connection to a server that just went down costs the
 *       request nothing while another server is available (at most one such try per server).
 *   <li>A {@link Builder#deadline deadline} bounds all tries together: no retry starts after it, so a
 *       client waits about the read timeout for a hung upstream, not a multiple of it.
 * </ul>
 *
 * <p>Each retry is logged (logger {@code dev.gatehouse.proxy.reverse.RouteTable}, level INFO) with the
 * server it goes to and the one that failed: {@code retrying on app-2:8080 after app-1:8080 failed:
 * ...}. Deadlines and budgets are measured on the proxy's clock ({@code ProxyBuilder.clock}).
 */
public final class RetryPolicy {
  private static final RetryPolicy NONE = new Builder().maxRetries(0).build();
  private static final RetryPolicy DEFAULTS = new Builder().build();

  private final int maxRetries;
  private final int[] retryOnStatus;
  private final Duration tryTimeout;
  private final double budgetRatio;
  private final int minRetriesPerSecond;
  private final int bufferBodyUpTo;
  private final boolean retrySameServer;
  private final Duration deadline;

  private RetryPolicy(Builder b) {
    this.retrySameServer = b.retrySameServer;
    this.deadline = b.deadline;
    this.maxRetries = b.maxRetries;
    this.retryOnStatus = b.retryOnStatus.clone();
    this.tryTimeout = b.tryTimeout;
    this.budgetRatio = b.budgetRatio;
    this.minRetriesPerSecond = b.minRetriesPerSecond;
    this.bufferBodyUpTo = b.bufferBodyUpTo;
  }

  /** No retries at all. */
  public static RetryPolicy none() {
    return NONE;
  }

  /**
   * The default of every route: one retry, on failures before the response only (no status retried),
   * on another server, within the route's read timeout; budget 20 % plus 3 per second; bodies not kept.
   * Tries that never reached their server are retried on servers not tried yet on top of that.
   */
  public static RetryPolicy defaults() {
    return DEFAULTS;
  }

  /** A builder starting from {@link #defaults()}. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Most retries per request, not counting those after a try that never reached its server (those go
   * to each server not tried yet, as long as this is not 0).
   */
  public int maxRetries() {
    return maxRetries;
  }

  /** The statuses retried for idempotent requests; empty by default. */
  public int[] retryOnStatus() {
    return retryOnStatus.clone();
  }

  /** Time from the start of one try to the response head, or null for none. */
  public @Nullable Duration tryTimeout() {
    return tryTimeout;
  }

  /** Retries allowed as a share of the route's requests (over 10 s). */
  public double budgetRatio() {
    return budgetRatio;
  }

  /** Retries per second allowed on top of the ratio. */
  public int minRetriesPerSecond() {
    return minRetriesPerSecond;
  }

  /** Largest request body kept for a retry, in bytes. */
  public int bufferBodyUpTo() {
    return bufferBodyUpTo;
  }

  /** Whether a retry may go to a server already tried for the request. */
  public boolean retrySameServer() {
    return retrySameServer;
  }

  /**
   * Time from the first try's start after which no retry starts, or null for the route's read timeout
   * (the default).
   */
  public @Nullable Duration deadline() {
    return deadline;
  }

  boolean retriesStatus(int status) {
    for (int s : retryOnStatus) {
      if (s == status) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "RetryPolicy(maxRetries " + maxRetries + ", status " + Arrays.toString(retryOnStatus) + ", budget "
        + budgetRatio + " + " + minRetriesPerSecond + "/s" + (tryTimeout != null ? ", tryTimeout " + tryTimeout : "")
        + (bufferBodyUpTo > 0 ? ", body up to " + bufferBodyUpTo : "")
        + (deadline != null ? ", deadline " + deadline : "") + (retrySameServer ? ", same server allowed" : "") + ")";
  }

  /** Builds a {@link RetryPolicy}. */
  public static final class Builder {
    private int maxRetries = 1;
    private int[] retryOnStatus = {};
    private Duration tryTimeout;
    private double budgetRatio = 0.2;
    private int minRetriesPerSecond = 3;
    private int bufferBodyUpTo;
    private boolean retrySameServer;
    private Duration deadline;

    private Builder() {}

    /**
     * Most retries per request (0-10).
     *
     * @implSpec Defaults to 1.
     */
    public Builder maxRetries(int n) {
      if (n < 0 || n > 10) {
        throw new IllegalArgumentException("retry.maxRetries: " + n + " (expected: 0-10)");
      }
      this.maxRetries = n;
      return this;
    }

    /**
     * Statuses that make an idempotent request retry, e.g. 502, 503, 504.
     *
     * @implSpec Defaults to none.
     */
    public Builder retryOnStatus(int... statuses) {
      Objects.requireNonNull(statuses, "statuses");
      for (int s : statuses) {
        if (s < 500 || s > 599) {
          throw new IllegalArgumentException("retry.retryOnStatus: " + s + " (expected: 500-599)");
        }
      }
      this.retryOnStatus = statuses.clone();
      return this;
    }

    /**
     * Time one try may take to get the response head; a try over it fails with 504 or is retried.
     * @implSpec Defaults to none (the route's read timeout applies).
     */
    public Builder tryTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "retry.tryTimeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("retry.tryTimeout: " + timeout + " (expected: > 0)");
      }
      this.tryTimeout = timeout;
      return this;
    }

    /**
     * Retries allowed: {@code ratio} of the route's requests over the last 10 s, plus {@code
     * minRetriesPerSecond} per second so that quiet routes can retry at all.
     * @implSpec Defaults to 0.2 and 3.
     */
    public Builder budget(double ratio, int minRetriesPerSecond) {
      if (!(ratio >= 0 && ratio <= 10)) {
        throw new IllegalArgumentException("retry.budget ratio: " + ratio + " (expected: 0.0-10.0)");
      }
      if (minRetriesPerSecond < 0) {
        throw new IllegalArgumentException("retry.budget minRetriesPerSecond: " + minRetriesPerSecond + " (expected: >= 0)");
      }
      this.budgetRatio = ratio;
      this.minRetriesPerSecond = minRetriesPerSecond;
      return this;
    }

    /**
     * Keeps request bodies of up to {@code bytes} as they stream, so that a request with a body can be
     * retried; larger bodies stream without a copy and are not retried once sent.
     * @implSpec Defaults to 0.
     */
    public Builder bufferBodyUpTo(int bytes) {
      if (bytes < 0 || bytes > 64 * 1024 * 1024) {
        throw new IllegalArgumentException("retry.bufferBodyUpTo: " + bytes + " (expected: 0-67108864)");
      }
      this.bufferBodyUpTo = bytes;
      return this;
    }

    /**
     * Whether a retry may go to a server already tried for the request, when no other server can take
     * it: for a group of one server whose failures are known to be brief. Every retry still counts
     * against {@link #maxRetries} and the budget, and the {@link #deadline} still bounds them.
     * @implSpec Defaults to false: a retry goes to another server or does not happen.
     */
    public Builder retrySameServer(boolean allowed) {
      this.retrySameServer = allowed;
      return this;
    }

    /**
     * Time from the first try's start within which retries may happen: no retry starts after it, and a
     * retry waits for its response head only for what is left of it (a 504 then, or a retry within
     * {@link #tryTimeout} if that is shorter). The first try is bounded by its own timeouts (connect,
     * write, read, {@link #tryTimeout}), so the default keeps a client of a hung upstream waiting about
     * the read timeout, never a multiple of it. The route's {@code totalTimeout}, if shorter, ends
     * retries too.
     * @implSpec Defaults to the route's read timeout (none when the read timeout is disabled).
     */
    public Builder deadline(Duration deadline) {
      this.deadline = Checks.positive("retry.deadline", deadline);
      return this;
    }

    /** Builds the policy. */
    public RetryPolicy build() {
      return new RetryPolicy(this);
    }
  }
}
