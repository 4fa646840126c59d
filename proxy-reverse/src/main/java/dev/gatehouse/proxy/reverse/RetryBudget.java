package dev.gatehouse.proxy.reverse;

/**
 * Counts requests and retries over a sliding window of ten one-second buckets; a retry is allowed while
 * retries stay under {@code ratio * requests + minPerSecond * 10}.
 */
final class RetryBudget {
  private static final int BUCKETS = 10;
  private static final long BUCKET_NANOS = 1_000_000_000L;

  private final double ratio;
  private final int minPerSecond;
  private final long[] requests = new long[BUCKETS];
  private final long[] retries = new long[BUCKETS];
  private long currentBucket;
  private boolean started;

  RetryBudget(double ratio, int minPerSecond) {
    this.ratio = ratio;
    this.minPerSecond = minPerSecond;
  }

  synchronized void onRequest(long now) {
    advance(now);
    requests[(int) Math.floorMod(currentBucket, (long) BUCKETS)]++;
  }

  /** Takes one retry from the budget if there is one. */
  synchronized boolean tryRetry(long now) {
    advance(now);
    long req = 0;
    long ret = 0;
    for (int i = 0; i < BUCKETS; i++) {
      req += requests[i];
      ret += retries[i];
    }
    if (ret + 1 > ratio * req + (double) minPerSecond * BUCKETS) {
      return false;
    }
    retries[(int) Math.floorMod(currentBucket, (long) BUCKETS)]++;
    return true;
  }

  private void advance(long now) {
    long bucket = Math.floorDiv(now, BUCKET_NANOS);
    if (!started) {
      started = true;
      currentBucket = bucket;
      return;
    }
    long steps = Math.min(BUCKETS, bucket - currentBucket);
    for (long i = 1; i <= steps; i++) {
      int idx = (int) Math.floorMod(currentBucket + i, (long) BUCKETS);
      requests[idx] = 0;
      retries[idx] = 0;
    }
    if (bucket > currentBucket) {
      currentBucket = bucket;
    }
  }
}
