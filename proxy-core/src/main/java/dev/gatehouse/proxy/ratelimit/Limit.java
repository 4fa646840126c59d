package dev.gatehouse.proxy.ratelimit;

import dev.gatehouse.proxy.CheckReturnValue;
import java.time.Duration;
import java.util.Objects;

/**
 * A rate: {@code count} requests per {@code period}, with a burst (by default {@code count}), enforced
 * as a GCRA (generic cell rate algorithm, a token bucket without a refill timer): requests are spaced
 * {@code period / count} apart on average, and up to {@code burst} may come at once after a quiet time.
 *
 * <pre>{@code
 * Limit.perSecond(10).burst(20)      // 10 a second on average, 20 at once
 * Limit.perHour(1000).name("hourly")
 * }</pre>
 *
 * <p>In the {@code RateLimit-Policy} response field a limit appears as {@code "name";q=burst;w=seconds},
 * {@code w} being the time a full burst takes to come back ({@code period} when the burst is {@code
 * count}). Immutable.
 */
@CheckReturnValue
public final class Limit {
  private final long count;
  private final Duration period;
  private final long burst;
  private final String name;

  private Limit(long count, Duration period, long burst, String name) {
    this.count = count;
    this.period = period;
    this.burst = burst;
    this.name = name;
  }

  /** {@code count} requests per {@code period}; {@code period} from 1 ms to 366 days. */
  public static Limit of(long count, Duration period) {
    Objects.requireNonNull(period, "period");
    if (count < 1) {
      throw new IllegalArgumentException("count: " + count + " (expected: > 0)");
    }
    if (period.compareTo(Duration.ofMillis(1)) < 0 || period.compareTo(Duration.ofDays(366)) > 0) {
      throw new IllegalArgumentException("period: " + period + " (expected: 1 ms to 366 days)");
    }
    if (period.toNanos() / count < 1) {
      throw new IllegalArgumentException("count: " + count + " per " + period + " (expected: at most one per nanosecond)");
    }
    return new Limit(count, period, count, defaultName(count, period));
  }

  /** {@code count} requests per second. */
  public static Limit perSecond(long count) {
    return of(count, Duration.ofSeconds(1));
  }

  /** {@code count} requests per minute. */
  public static Limit perMinute(long count) {
    return of(count, Duration.ofMinutes(1));
  }

  /** {@code count} requests per hour. */
  public static Limit perHour(long count) {
    return of(count, Duration.ofHours(1));
  }

  /** {@code count} requests per day. */
  public static Limit perDay(long count) {
    return of(count, Duration.ofDays(1));
  }

  private static String defaultName(long count, Duration period) {
    return count + "-per-" + (period.toMillis() % 1000 == 0 ? period.toSeconds() + "s" : period.toMillis() + "ms");
  }

  /** A limit like this one allowing {@code burst} requests at once (at least 1). */
  public Limit burst(long burst) {
    if (burst < 1) {
      throw new IllegalArgumentException("burst: " + burst + " (expected: > 0)");
    }
    return new Limit(count, period, burst, name);
  }

  /**
   * A limit like this one called {@code name} in the response fields: letters, digits and {@code
   * -._:}, e.g. {@code hourly}.
   *
   * @implSpec Defaults to e.g. {@code 100-per-60s}.
   */
  public Limit name(String name) {
    Objects.requireNonNull(name, "name");
    if (!name.matches("[A-Za-z0-9._:-]{1,64}")) {
      throw new IllegalArgumentException("name: \"" + name + "\" (expected: 1-64 letters, digits or -._:)");
    }
    return new Limit(count, period, burst, name);
  }

  /** Requests per period. */
  public long count() {
    return count;
  }

  /** The period. */
  public Duration period() {
    return period;
  }

  /** Requests allowed at once. */
  public long burst() {
    return burst;
  }

  /** The name in the response fields. */
  public String name() {
    return name;
  }

  /** The average spacing of requests, in nanoseconds ({@code period / count}). */
  public long intervalNanos() {
    return period.toNanos() / count;
  }

  /** How far ahead of now a key's schedule may run, in nanoseconds ({@code burst * interval}). */
  public long capacityNanos() {
    long t = intervalNanos();
    return burst > Long.MAX_VALUE / t ? Long.MAX_VALUE : burst * t;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Limit)) {
      return false;
    }
    Limit l = (Limit) o;
    return count == l.count && burst == l.burst && period.equals(l.period) && name.equals(l.name);
  }

  @Override
  public int hashCode() {
    return Objects.hash(count, period, burst, name);
  }

  @Override
  public String toString() {
    return "Limit(" + name + ": " + count + " per " + period + ", burst " + burst + ")";
  }
}
