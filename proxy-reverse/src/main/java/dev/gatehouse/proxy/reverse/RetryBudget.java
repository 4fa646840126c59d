package dev.gatehouse.proxy.reverse;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counts requests and retries over a sliding window of ten one-second buckets; a retry is allowed while
 * retries stay under {@code ratio * requests + minPerSecond * 10}. Counting a request is one atomic
 * increment (the hot path); buckets are rotated under a lock once a second.
 */
final class RetryBudget {
  private static final int BUCKETS = 10;
  private static final long BUCKET_NANOS = 1_000_000_000L;

  private final double ratio;
  private final int minPerSecond;
  private final AtomicLongArray requests = new AtomicLongArray(BUCKETS);
  private final AtomicLongArray retries = new AtomicLongArray(BUCKETS);
  private volatile long currentBucket = Long.MIN_VALUE;

  RetryBudget(double ratio, int minPerSecond) {
    this.ratio = ratio;
    this.minPerSecond = minPerSecond;
  }

  void onRequest(long now) {
    requests.incrementAndGet(index(advance(now)));
  }

  /** Takes one retry from the budget if there is one. */
  synchronized boolean tryRetry(long now) {
    long bucket = advance(now);
    long req = 0;
    long ret = 0;
    for (int i = 0; i < BUCKETS; i++) {
      req += requests.get(i);
      ret += retries.get(i);
    }
    if (ret + 1 > ratio * req + (double) minPerSecond * BUCKETS) {
      return false;
    }
    retries.incrementAndGet(index(bucket));
    return true;
  }

  private static int index(long bucket) {
    return (int) Math.floorMod(bucket, (long) BUCKETS);
  }

  /** Moves the window to {@code now}'s bucket, clearing the buckets that fell out; returns the bucket. */
  private long advance(long now) {
    long bucket = Math.floorDiv(now, BUCKET_NANOS);
    if (bucket == currentBucket) {
      return bucket;
    }
    synchronized (this) {
      long current = currentBucket;
      if (current == Long.MIN_VALUE) {
        currentBucket = bucket;
      } else if (bucket > current) {
        long steps = Math.min(BUCKETS, bucket - current);
        for (long i = 1; i <= steps; i++) {
          int idx = index(current + i);
          requests.set(idx, 0);
          retries.set(idx, 0);
        }
        currentBucket = bucket;
      }
    }
    return bucket;
  }
}
