package dev.gatehouse.proxy.reverse;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Active health checks of an {@link UpstreamGroup}: every {@code interval} (plus up to {@code jitter}),
 * each server gets an HTTP request of its own, off the request path and without blocking any thread. A
 * server that fails {@code unhealthyThreshold} checks in a row gets no more requests until it passes
 * {@code healthyThreshold} in a row. A check passes when the status is within the expected range before
 * the timeout.
 *
 * <pre>{@code
 * HealthCheck.http("/healthz").interval(Duration.ofSeconds(5)).timeout(Duration.ofSeconds(2)).build()
 * }</pre>
 *
 * <p>Servers start as available, so a proxy serves at once after {@code start()}; the first round of
 * checks runs immediately.
 */
public final class HealthCheck {
  private final String method;
  private final String path;
  private final String host;
  private final int minStatus;
  private final int maxStatus;
  private final Duration interval;
  private final Duration timeout;
  private final Duration jitter;
  private final int healthyThreshold;
  private final int unhealthyThreshold;

  private HealthCheck(Builder b) {
    this.method = b.method;
    this.path = b.path;
    this.host = b.host;
    this.minStatus = b.minStatus;
    this.maxStatus = b.maxStatus;
    this.interval = b.interval;
    this.timeout = b.timeout;
    this.jitter = b.jitter;
    this.healthyThreshold = b.healthyThreshold;
    this.unhealthyThreshold = b.unhealthyThreshold;
  }

  /** A check sending {@code GET path} (with query, if any) to each server. */
  public static Builder http(String path) {
    return new Builder().path(path);
  }

  /** The request method, e.g. {@code GET}. */
  public String method() {
    return method;
  }

  /** The path (and query) requested. */
  public String path() {
    return path;
  }

  /** The {@code Host} sent, or null for the server's own authority. */
  public @Nullable String host() {
    return host;
  }

  /** The lowest status that passes. */
  public int minStatus() {
    return minStatus;
  }

  /** The highest status that passes. */
  public int maxStatus() {
    return maxStatus;
  }

  /** Time between the starts of two checks of a server. */
  public Duration interval() {
    return interval;
  }

  /** Time one check may take, connection included. */
  public Duration timeout() {
    return timeout;
  }

  /** Largest random delay added to each interval. */
  public Duration jitter() {
    return jitter;
  }

  /** Passed checks in a row that bring an unhealthy server back. */
  public int healthyThreshold() {
    return healthyThreshold;
  }

  /** Failed checks in a row that make a server unhealthy. */
  public int unhealthyThreshold() {
    return unhealthyThreshold;
  }

  boolean passes(int status) {
    return status >= minStatus && status <= maxStatus;
  }

  @Override
  public String toString() {
    return "HealthCheck(" + method + " " + path + " expect " + minStatus + "-" + maxStatus + " every " + interval + ")";
  }

  /** Builds a {@link HealthCheck}. */
  public static final class Builder {
    private String method = "GET";
    private String path;
    private String host;
    private int minStatus = 200;
    private int maxStatus = 399;
    private Duration interval = Duration.ofSeconds(10);
    private Duration timeout = Duration.ofSeconds(2);
    private Duration jitter = Duration.ZERO;
    private int healthyThreshold = 2;
    private int unhealthyThreshold = 3;

    private Builder() {}

    /** The path and optional query, starting with {@code /}. */
    public Builder path(String path) {
      Objects.requireNonNull(path, "path");
      if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c >= 0x7F || c == '#')) {
        throw new IllegalArgumentException("healthCheck.path: \"" + path
            + "\" (expected: a path starting with /, percent-encoded)");
      }
      this.path = path;
      return this;
    }

    /**
     * The method.
     *
     * @implSpec Defaults to {@code GET}.
     */
    public Builder method(String method) {
      Objects.requireNonNull(method, "method");
      this.method = Checks.token("healthCheck.method", method, "a method token such as GET");
      return this;
    }

    /**
     * The {@code Host} to send.
     *
     * @implSpec Defaults to the server's own host and port.
     */
    public Builder host(String host) {
      Objects.requireNonNull(host, "host");
      if (host.isEmpty() || host.chars().anyMatch(c -> c <= ' ' || c >= 0x7F || c == '/')) {
        throw new IllegalArgumentException("healthCheck.host: \"" + host + "\" (expected: host[:port])");
      }
      this.host = host;
      return this;
    }

    /**
     * The statuses that pass, inclusive.
     *
     * @implSpec Defaults to 200-399.
     */
    public Builder expectStatus(int min, int max) {
      if (min < 100 || max > 599 || min > max) {
        throw new IllegalArgumentException("healthCheck.expectStatus: " + min + "-" + max
            + " (expected: 100 <= min <= max <= 599)");
      }
      this.minStatus = min;
      this.maxStatus = max;
      return this;
    }

    /**
     * Time between the start of two checks of a server.
     *
     * @implSpec Defaults to 10 s.
     */
    public Builder interval(Duration interval) {
      this.interval = Checks.positive("healthCheck.interval", interval);
      return this;
    }

    /**
     * Time a check may take, connection included.
     *
     * @implSpec Defaults to 2 s.
     */
    public Builder timeout(Duration timeout) {
      this.timeout = Checks.positive("healthCheck.timeout", timeout);
      return this;
    }

    /**
     * Random extra delay, up to this, before each check, so that many proxies do not probe in step.
     * @implSpec Defaults to none.
     */
    public Builder jitter(Duration jitter) {
      Objects.requireNonNull(jitter, "healthCheck.jitter");
      if (jitter.isNegative()) {
        throw new IllegalArgumentException("healthCheck.jitter: " + jitter + " (expected: >= 0)");
      }
      this.jitter = jitter;
      return this;
    }

    /**
     * Passed checks in a row that bring an unhealthy server back.
     *
     * @implSpec Defaults to 2.
     */
    public Builder healthyThreshold(int n) {
      if (n < 1 || n > 100) {
        throw new IllegalArgumentException("healthCheck.healthyThreshold: " + n + " (expected: 1-100)");
      }
      this.healthyThreshold = n;
      return this;
    }

    /**
     * Failed checks in a row that make a server unhealthy.
     *
     * @implSpec Defaults to 3.
     */
    public Builder unhealthyThreshold(int n) {
      if (n < 1 || n > 100) {
        throw new IllegalArgumentException("healthCheck.unhealthyThreshold: " + n + " (expected: 1-100)");
      }
      this.unhealthyThreshold = n;
      return this;
    }

    /** Builds the check. @throws IllegalStateException if the timeout is not shorter than the interval */
    public HealthCheck build() {
      if (timeout.compareTo(interval) >= 0) {
        throw new IllegalStateException("healthCheck.timeout: " + timeout + " (expected: < interval " + interval + ")");
      }
      return new HealthCheck(this);
    }

  }
}
