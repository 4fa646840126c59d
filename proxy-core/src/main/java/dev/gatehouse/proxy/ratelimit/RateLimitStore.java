package dev.gatehouse.proxy.ratelimit;

import dev.gatehouse.proxy.internal.gateway.OptionalLibrary;
import java.time.InstantSource;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

/**
 * Where rate-limit state lives. The in-memory store ({@link InMemoryRateLimitStore}) is the default; a
 * store shared by several proxies (Redis, for example) implements {@link #acquire} as one atomic
 * operation on the server, in one round trip (a Lua script of GCRA over all the limits of the key).
 *
 * <p>Times are nanoseconds on the filter's clock (its {@code InstantSource}, as nanoseconds since the
 * epoch), so that stores shared by several machines agree as far as their clocks do.
 */
public interface RateLimitStore {

  /**
   * Checks every limit for {@code key} at {@code nowNanos} and, only if all allow it, counts the request
   * against each, atomically: two requests racing for the last slot never both get it, and a refused
   * request costs nothing. Called on an I/O thread: must not block (return an incomplete stage for
   * remote work). A failed stage is handled by the filter's {@code failOpen} setting.
   *
   * @param key the caller's key, already namespaced by the filter
   * @param limits the limits, in the order the decision reports them
   * @param nowNanos the current time
   */
  CompletionStage<RateLimitDecision> acquire(String key, List<Limit> limits, long nowNanos);

  /**
   * The in-memory store (the one a {@link RateLimit} uses unless given another), holding at most {@code
   * maximumKeys} keys; share one between several filters to give them one budget per key. Needs {@code
   * com.github.ben-manes.caffeine:caffeine}.
   *
   * @param clock the clock its keys expire by: the same as the filters'
   * @throws IllegalStateException if Caffeine is missing
   */
  static RateLimitStore inMemory(long maximumKeys, InstantSource clock) {
    Objects.requireNonNull(clock, "clock");
    if (maximumKeys < 1) {
      throw new IllegalArgumentException("maximumKeys: " + maximumKeys + " (expected: > 0)");
    }
    OptionalLibrary.require("The in-memory rate-limit store", "com.github.benmanes.caffeine.cache.Caffeine",
        "com.github.ben-manes.caffeine:caffeine");
    return new InMemoryRateLimitStore(maximumKeys, clock);
  }
}
