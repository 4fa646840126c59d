package dev.gatehouse.proxy.ratelimit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The default {@link RateLimitStore} ({@link RateLimitStore#inMemory}): GCRA state per key in a bounded Caffeine cache ({@code
 * com.github.ben-manes.caffeine:caffeine}, an optional dependency). A key idle for longer than its
 * longest limit needs (its state would be fresh again) expires; past {@code maximumKeys} the least
 * recently used keys go first, so memory stays bounded however many distinct keys arrive. The hot path
 * takes no lock: Caffeine's lookup, then one compare-and-set of the key's schedule.
 *
 * <p>An evicted key starts afresh, which can only make the limit more lenient for that key; size {@code
 * maximumKeys} above the number of keys active within a window.
 */
final class InMemoryRateLimitStore implements RateLimitStore {
  private final Cache<String, State> cache;

  /** One key's schedule: the theoretical arrival time of the next request, per limit. */
  private static final class State {
    final AtomicReference<long[]> tats;
    final long idleNanos;

    State(int limits, long idleNanos) {
      this.tats = new AtomicReference<>(new long[limits]);
      this.idleNanos = idleNanos;
    }
  }

  InMemoryRateLimitStore(long maximumKeys, InstantSource clock) {
    this.cache = Caffeine.newBuilder()
        .maximumSize(maximumKeys)
        .executor(Runnable::run)
        .ticker(() -> RateLimit.nanos(clock))
        .expireAfter(new Expiry<String, State>() {
          @Override
          public long expireAfterCreate(String key, State value, long currentTime) {
            return value.idleNanos;
          }

          @Override
          public long expireAfterUpdate(String key, State value, long currentTime, long currentDuration) {
            return value.idleNanos;
          }

          @Override
          public long expireAfterRead(String key, State value, long currentTime, long currentDuration) {
            return value.idleNanos;
          }
        })
        .build();
    // load the classes of the hot path now rather than on the first request's I/O thread
    decide("\0warm-up", List.of(Limit.perSecond(1)), 0);
    cache.invalidateAll();
  }

  @Override
  public CompletionStage<RateLimitDecision> acquire(String key, List<Limit> limits, long now) {
    return CompletableFuture.completedFuture(decide(key, limits, now));
  }

  RateLimitDecision decide(String key, List<Limit> limits, long now) {
    int n = limits.size();
    State state = cache.get(key, k -> new State(n, idle(limits)));
    if (state.tats.get().length != n) {
      state = new State(n, idle(limits));
      cache.put(key, state);
    }
    long[] remaining = new long[n];
    long[] reset = new long[n];
    while (true) {
      long[] tats = state.tats.get();
      long[] next = new long[n];
      boolean allowed = true;
      long retry = 0;
      for (int i = 0; i < n; i++) {
        Limit l = limits.get(i);
        long tat = Math.max(tats[i], now);
        long nt = tat + l.intervalNanos();
        if (nt - now > l.capacityNanos()) {
          allowed = false;
          retry = Math.max(retry, nt - l.capacityNanos() - now);
        }
        next[i] = nt;
      }
      long[] basis = allowed ? next : tats;
      for (int i = 0; i < n; i++) {
        Limit l = limits.get(i);
        long ahead = Math.max(0, basis[i] - now);
        remaining[i] = Math.max(0, Math.min(l.burst(), (l.capacityNanos() - ahead) / l.intervalNanos()));
        reset[i] = ahead;
      }
      if (!allowed) {
        return RateLimitDecision.denied(remaining, reset, retry);
      }
      if (state.tats.compareAndSet(tats, next)) {
        return RateLimitDecision.allowed(remaining, reset);
      }
    }
  }

  private static long idle(List<Limit> limits) {
    long max = 1;
    for (Limit l : limits) {
      max = Math.max(max, l.capacityNanos());
    }
    return max;
  }

  /** Keys held now (after pending evictions and expirations). */
  long size() {
    cache.cleanUp();
    return cache.estimatedSize();
  }
}
