package dev.gatehouse.proxy.internal.exchange;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One proxy's check for filters that hold an I/O thread ({@code slowFilterThreshold}). Each synchronous
 * run of a chain is timed as a whole (two clock reads, two more around the step after the filters, which
 * is not a filter's time); a run over the threshold is logged with the filters it ran, and then each
 * filter is timed on its own for the next {@value #ATTRIBUTED_RUNS} runs (two reads per filter), so that
 * the one that blocks is logged by name. Timing every filter of every request cost about ten clock reads
 * per request with five filters.
 */
public final class SlowFilterCheck {
  /** How many runs after a slow one time each filter on its own. */
  static final int ATTRIBUTED_RUNS = 1000;

  final long thresholdNanos;
  private final AtomicInteger attributedRuns = new AtomicInteger();

  /** A check with {@code threshold}; null when it is zero (no check). */
  public static SlowFilterCheck of(Duration threshold) {
    return threshold.isZero() ? null : new SlowFilterCheck(threshold.toNanos());
  }

  SlowFilterCheck(long thresholdNanos) {
    this.thresholdNanos = thresholdNanos;
  }

  /** Whether this run times each filter on its own (a run over the threshold was seen lately). */
  boolean attributeThisRun() {
    return attributedRuns.get() > 0 && attributedRuns.getAndDecrement() > 0;
  }

  /** A run over the threshold: time each filter on its own for a while. */
  void slowRunSeen() {
    attributedRuns.set(ATTRIBUTED_RUNS);
  }
}
