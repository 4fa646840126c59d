package dev.gatehouse.proxy.ratelimit;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a {@link RateLimitStore} decided for one request: allowed or not, and for each limit (in the
 * order given) the requests left and the time until the limit is whole again. Immutable.
 */
public final class RateLimitDecision {
  private final boolean allowed;
  private final long[] remaining;
  private final long[] resetNanos;
  private final long retryAfterNanos;

  private RateLimitDecision(boolean allowed, long[] remaining, long[] resetNanos, long retryAfterNanos) {
    this.allowed = allowed;
    this.remaining = remaining;
    this.resetNanos = resetNanos;
    this.retryAfterNanos = retryAfterNanos;
  }

  /** The request is allowed (and was counted). Arrays: one entry per limit, copied. */
  public static RateLimitDecision allowed(long[] remaining, long[] resetNanos) {
    return of(true, remaining, resetNanos, 0);
  }

  /** The request is refused (and was not counted); it may be tried again after {@code retryAfterNanos}. */
  public static RateLimitDecision denied(long[] remaining, long[] resetNanos, long retryAfterNanos) {
    if (retryAfterNanos < 0) {
      throw new IllegalArgumentException("retryAfterNanos: " + retryAfterNanos + " (expected: >= 0)");
    }
    return of(false, remaining, resetNanos, retryAfterNanos);
  }

  private static RateLimitDecision of(boolean allowed, long[] remaining, long[] resetNanos, long retryAfterNanos) {
    Objects.requireNonNull(remaining, "remaining");
    Objects.requireNonNull(resetNanos, "resetNanos");
    if (remaining.length != resetNanos.length) {
      throw new IllegalArgumentException("remaining: " + remaining.length + " entries, resetNanos: " + resetNanos.length
          + " (expected: one each per limit)");
    }
    return new RateLimitDecision(allowed, remaining.clone(), resetNanos.clone(), retryAfterNanos);
  }

  /** Whether the request may go on. */
  public boolean allowed() {
    return allowed;
  }

  /** The number of limits decided on. */
  public int limits() {
    return remaining.length;
  }

  /** Requests left under limit {@code i} after this one. */
  public long remaining(int i) {
    return remaining[i];
  }

  /** Nanoseconds until limit {@code i} allows a whole burst again. */
  public long resetNanos(int i) {
    return resetNanos[i];
  }

  /** When refused: nanoseconds until a request would be allowed; 0 when allowed. */
  public long retryAfterNanos() {
    return retryAfterNanos;
  }

  @Override
  public String toString() {
    return "RateLimitDecision(" + (allowed ? "allowed" : "denied, retry after " + retryAfterNanos + " ns")
        + ", remaining " + Arrays.toString(remaining) + ")";
  }
}
