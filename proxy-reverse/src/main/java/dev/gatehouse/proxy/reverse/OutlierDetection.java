package dev.gatehouse.proxy.reverse;

import java.time.Duration;

/**
 * Passive health: a server that fails {@code consecutiveFailures} requests in a row (connection refused
 * or failed, timeout, reset before the response, or a 5xx status) is ejected, i.e. gets no requests, for
 * {@code baseEjectionTime} times the number of times it has been ejected, up to {@code maxEjectionTime}.
 * At most {@code maxEjectionPercent} of a group's servers are ejected at once (at least one may be), so
 * a bad deploy cannot empty the pool. A server that stays in for {@code maxEjectionTime} starts over at
 * the base time.
 */
public final class OutlierDetection {
  private final int consecutiveFailures;
  private final Duration baseEjectionTime;
  private final Duration maxEjectionTime;
  private final int maxEjectionPercent;
  private final boolean count5xx;

  private OutlierDetection(Builder b) {
    this.consecutiveFailures = b.consecutiveFailures;
    this.baseEjectionTime = b.baseEjectionTime;
    this.maxEjectionTime = b.maxEjectionTime;
    this.maxEjectionPercent = b.maxEjectionPercent;
    this.count5xx = b.count5xx;
  }

  /** A builder with the defaults: 5 failures, 30 s base, 300 s max, 50 %, 5xx counted. */
  public static Builder builder() {
    return new Builder();
  }

  /** The defaults of {@link #builder()}. */
  public static OutlierDetection defaults() {
    return builder().build();
  }

  /** Failures in a row that eject a server. */
  public int consecutiveFailures() {
    return consecutiveFailures;
  }

  /** The first ejection's length; the n-th lasts n times this. */
  public Duration baseEjectionTime() {
    return baseEjectionTime;
  }

  /** The longest ejection. */
  public Duration maxEjectionTime() {
    return maxEjectionTime;
  }

  /** The largest share of the group's servers ejected at once, 0-100. */
  public int maxEjectionPercent() {
    return maxEjectionPercent;
  }

  /** Whether 5xx responses count as failures (connection failures and timeouts always do). */
  public boolean count5xx() {
    return count5xx;
  }

  @Override
  public String toString() {
    return "OutlierDetection(" + consecutiveFailures + " failures, eject " + baseEjectionTime + ".." + maxEjectionTime
        + ", max " + maxEjectionPercent + "%)";
  }

  /** Builds {@link OutlierDetection}. */
  public static final class Builder {
    private int consecutiveFailures = 5;
    private Duration baseEjectionTime = Duration.ofSeconds(30);
    private Duration maxEjectionTime = Duration.ofSeconds(300);
    private int maxEjectionPercent = 50;
    private boolean count5xx = true;

    private Builder() {}

    /**
     * Failures in a row that eject a server.
     *
     * @implSpec Defaults to 5.
     */
    public Builder consecutiveFailures(int n) {
      if (n < 1 || n > 1000) {
        throw new IllegalArgumentException("outlierDetection.consecutiveFailures: " + n + " (expected: 1-1000)");
      }
      this.consecutiveFailures = n;
      return this;
    }

    /**
     * The first ejection's length; the n-th lasts n times this.
     *
     * @implSpec Defaults to 30 s.
     */
    public Builder baseEjectionTime(Duration d) {
      this.baseEjectionTime = Checks.positive("outlierDetection.baseEjectionTime", d);
      return this;
    }

    /**
     * The longest ejection.
     *
     * @implSpec Defaults to 300 s.
     */
    public Builder maxEjectionTime(Duration d) {
      this.maxEjectionTime = Checks.positive("outlierDetection.maxEjectionTime", d);
      return this;
    }

    /**
     * The largest share of the group's servers ejected at once, 0-100.
     *
     * @implSpec Defaults to 50.
     */
    public Builder maxEjectionPercent(int percent) {
      if (percent < 0 || percent > 100) {
        throw new IllegalArgumentException("outlierDetection.maxEjectionPercent: " + percent + " (expected: 0-100)");
      }
      this.maxEjectionPercent = percent;
      return this;
    }

    /**
     * Whether 5xx responses count as failures.
     *
     * @implSpec Defaults to true.
     */
    public Builder count5xx(boolean count) {
      this.count5xx = count;
      return this;
    }

    /** @throws IllegalStateException if the maximum ejection time is below the base */
    public OutlierDetection build() {
      if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
        throw new IllegalStateException("outlierDetection.maxEjectionTime: " + maxEjectionTime
            + " (expected: >= baseEjectionTime " + baseEjectionTime + ")");
      }
      return new OutlierDetection(this);
    }

  }
}
