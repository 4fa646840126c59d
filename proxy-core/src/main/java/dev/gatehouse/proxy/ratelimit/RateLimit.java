package dev.gatehouse.proxy.ratelimit;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Limits requests per key: a rate (one or several {@link Limit}s, e.g. per second and per hour, all of
 * which must allow a request) and/or a number of requests in flight at once ({@link
 * Builder#maxConcurrent}, as Envoy's concurrency limit).
 *
 * <pre>{@code
 * RateLimit perConsumer = RateLimit.builder()
 *     .key(RateLimitKey.principalOrClientIp())
 *     .limit(Limit.perSecond(10).burst(20))
 *     .limit(Limit.perHour(5000).name("hourly"))
 *     .build();
 * }</pre>
 *
 * <p><b>Answers.</b> A refused request gets 429 with {@code Retry-After} (seconds) and never reaches the
 * upstream. Every limited response, refused or not, carries the IETF fields (draft-ietf-httpapi-ratelimit-
 * headers): {@code RateLimit-Policy: "10-per-1s";q=20;w=2, "hourly";q=5000;w=3600} and {@code RateLimit:
 * "10-per-1s";r=19;t=1, "hourly";r=4999;t=1} ({@code r}: requests left, {@code t}: seconds until the
 * limit is whole again); a concurrency limit shows as {@code "concurrency";q=8;qu="concurrent-requests"}.
 * {@link #OUTCOME} tells later filters and logs what was decided.
 *
 * <p><b>Shadow mode</b> ({@link Builder#shadowMode}) counts and logs (at DEBUG, and in {@link #OUTCOME})
 * what would have been refused, but refuses nothing and adds no fields: a way to size limits on real
 * traffic before enforcing them.
 *
 * <p><b>State</b> lives in a {@link RateLimitStore}: by default in memory, bounded ({@link
 * Builder#maximumKeys}, idle keys expire; needs {@code com.github.ben-manes.caffeine:caffeine}). Time
 * comes from {@link Builder#clock}. A store that fails lets requests through ({@link
 * Builder#failOpen}, logged) or refuses them with 503.
 *
 * <p>(This class is long because its builder holds every setting with its documented default and its check,
 * beside one decision path in the filter: the limits, the concurrency limit, shadow mode and the response
 * fields.)
 */
public final class RateLimit implements Filter {
  private static final Logger log = LoggerFactory.getLogger(RateLimit.class);
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  /** What the filter decided for the exchange. */
  public enum Outcome {
    /** Within every limit. */
    ALLOWED,
    /** Refused with 429. */
    LIMITED,
    /** Over a limit, but let through in shadow mode. */
    SHADOW_LIMITED,
    /** Not counted: the key function returned null, or the store failed and the filter fails open. */
    UNLIMITED
  }

  /** Where the filter records its {@link Outcome}. */
  public static final AttributeKey<Outcome> OUTCOME = AttributeKey.of("rateLimitOutcome");

  /** Default most keys held by the in-memory store. */
  public static final long DEFAULT_MAXIMUM_KEYS = 100_000;
  private static final int MAX_KEY_LENGTH = 128;
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  });

  private final String name;
  private final RateLimitKey key;
  private final List<Limit> limits;
  private final int maxConcurrent;
  private final boolean shadow;
  private final boolean failOpen;
  private final boolean responseFields;
  private final RateLimitStore store;
  private final InstantSource clock;
  private final String policyField;
  private final ConcurrentHashMap<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
  private final AtomicLong shadowLimited = new AtomicLong();

  private RateLimit(Builder b, RateLimitStore store) {
    this.name = b.name != null ? b.name : "rate-limit-" + INSTANCES.incrementAndGet();
    this.key = b.key;
    this.limits = List.copyOf(b.limits);
    this.maxConcurrent = b.maxConcurrent;
    this.shadow = b.shadow;
    this.failOpen = b.failOpen;
    this.responseFields = b.responseFields;
    this.store = store;
    this.clock = b.clock;
    StringBuilder p = new StringBuilder();
    for (Limit l : limits) {
      p.append(p.length() == 0 ? "" : ", ").append('"').append(l.name()).append("\";q=").append(l.burst())
          .append(";w=").append(seconds(l.capacityNanos()));
    }
    if (maxConcurrent > 0) {
      p.append(p.length() == 0 ? "" : ", ").append("\"concurrency\";q=").append(maxConcurrent)
          .append(";qu=\"concurrent-requests\"");
    }
    this.policyField = p.toString();
    // load the classes of the answer path now rather than on the first request's I/O thread
    long[] one = new long[limits.size()];
    tooMany(1, RateLimitDecision.denied(one, one, 1), 0);
  }

  /** A builder: key by client IP, no limits yet. */
  public static Builder builder() {
    return new Builder();
  }

  /** Nanoseconds since the epoch on {@code clock}. */
  static long nanos(InstantSource clock) {
    Instant i = clock.instant();
    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
  }

  private static long seconds(long nanos) {
    return nanos <= 0 ? 0 : (nanos + 999_999_999L) / 1_000_000_000L;
  }

  /** The requests shadow mode let through over a limit so far. */
  public long shadowLimited() {
    return shadowLimited.get();
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    String raw = key.keyFor(exchange);
    if (raw == null) {
      exchange.attribute(OUTCOME, Outcome.UNLIMITED);
      return chain.proceed();
    }
    String k = raw.length() > MAX_KEY_LENGTH
        ? "sha256:" + HexFormat.of().formatHex(SHA256.get().digest(raw.getBytes(StandardCharsets.UTF_8))) : raw;
    int concurrency = 0;
    if (maxConcurrent > 0) {
      concurrency = acquireConcurrency(k);
      if (concurrency < 0) {
        if (!shadow) {
          exchange.attribute(OUTCOME, Outcome.LIMITED);
          return CompletableFuture.completedFuture(tooMany(1_000_000_000L, null, maxConcurrent));
        }
        shadowed(k, "concurrency");
        exchange.attribute(OUTCOME, Outcome.SHADOW_LIMITED);
        return chain.proceed();
      }
      exchange.onComplete(() -> releaseConcurrency(k));
    }
    int inUse = concurrency;
    if (limits.isEmpty()) {
      exchange.attribute(OUTCOME, Outcome.ALLOWED);
      return withFields(chain.proceed(), null, inUse);
    }
    CompletionStage<RateLimitDecision> decided;
    try {
      decided = store.acquire(name + "|" + k, limits, nanos(clock));
    } catch (RuntimeException e) {
      decided = CompletableFuture.failedFuture(e);
    }
    if (decided == null) {
      decided = CompletableFuture.failedFuture(new IllegalStateException("RateLimitStore returned null"));
    }
    if (decided instanceof CompletableFuture<RateLimitDecision> done && done.isDone()) {
      // the in-memory store decides at once: no stage per request for what is already known
      RateLimitDecision d;
      Throwable error = null;
      try {
        d = done.join();
      } catch (java.util.concurrent.CompletionException e) {
        d = null;
        error = e.getCause() == null ? e : e.getCause();
      } catch (RuntimeException e) {
        d = null;
        error = e;
      }
      return decided(exchange, chain, k, inUse, d, error);
    }
    return decided.handle((d, error) -> decided(exchange, chain, k, inUse, d, error)).thenCompose(stage -> stage);
  }

  private CompletionStage<ProxyResponse> decided(ProxyExchange exchange, Chain chain, String k, int inUse,
      RateLimitDecision d, Throwable error) {
    if (error != null || d == null) {
      Throwable cause = error != null ? error : new IllegalStateException("RateLimitStore completed with null");
      log.warn("{}: rate-limit store failed ({}); {}", name, cause.toString(), failOpen ? "letting the request through" : "refusing it");
      if (!failOpen) {
        ProxyResponse r = ProxyResponse.of(503, "Service Unavailable\n");
        return CompletableFuture.completedFuture(r);
      }
      exchange.attribute(OUTCOME, Outcome.UNLIMITED);
      return chain.proceed();
    }
    if (!d.allowed()) {
      if (!shadow) {
        exchange.attribute(OUTCOME, Outcome.LIMITED);
        return CompletableFuture.completedFuture(tooMany(d.retryAfterNanos(), d, inUse));
      }
      shadowed(k, "rate");
      exchange.attribute(OUTCOME, Outcome.SHADOW_LIMITED);
      return chain.proceed();
    }
    exchange.attribute(OUTCOME, Outcome.ALLOWED);
    return withFields(chain.proceed(), d, inUse);
  }

  private void shadowed(String k, String which) {
    shadowLimited.incrementAndGet();
    log.debug("{}: key {} over its {} limit (shadow mode: let through)", name, k, which);
  }

  /** Takes a slot; returns the slots in use after, or -1 when none is free. */
  private int acquireConcurrency(String k) {
    int[] result = new int[1];
    inFlight.compute(k, (x, count) -> {
      AtomicInteger c = count == null ? new AtomicInteger() : count;
      if (c.get() >= maxConcurrent) {
        result[0] = -1;
      } else {
        result[0] = c.incrementAndGet();
      }
      return c.get() == 0 ? null : c;
    });
    return result[0];
  }

  private void releaseConcurrency(String k) {
    inFlight.computeIfPresent(k, (x, c) -> c.decrementAndGet() <= 0 ? null : c);
  }

  /** For tests: keys with requests in flight. */
  int keysInFlight() {
    return inFlight.size();
  }

  private CompletionStage<ProxyResponse> withFields(CompletionStage<ProxyResponse> stage, RateLimitDecision d, int inUse) {
    if (!responseFields || shadow) {
      return stage;
    }
    return stage.thenApply(r -> {
      addFields(r, d, inUse);
      return r;
    });
  }

  private void addFields(ProxyResponse r, RateLimitDecision d, int inUse) {
    r.headers().set("RateLimit-Policy", policyField);
    StringBuilder f = new StringBuilder();
    if (d != null) {
      for (int i = 0; i < limits.size() && i < d.limits(); i++) {
        f.append(f.length() == 0 ? "" : ", ").append('"').append(limits.get(i).name()).append("\";r=")
            .append(d.remaining(i)).append(";t=").append(seconds(d.resetNanos(i)));
      }
    }
    if (maxConcurrent > 0) {
      f.append(f.length() == 0 ? "" : ", ").append("\"concurrency\";r=").append(Math.max(0, maxConcurrent - inUse));
    }
    r.headers().set("RateLimit", f.toString());
  }

  private ProxyResponse tooMany(long retryNanos, RateLimitDecision d, int inUse) {
    ProxyResponse r = ProxyResponse.of(429, "Too Many Requests\n");
    r.headers().set("Retry-After", Long.toString(Math.max(1, seconds(retryNanos))));
    if (responseFields) {
      addFields(r, d, inUse);
    }
    return r;
  }

  @Override
  public String toString() {
    return "RateLimit(" + name + ": " + limits + (maxConcurrent > 0 ? ", maxConcurrent " + maxConcurrent : "")
        + (shadow ? ", shadow" : "") + ")";
  }

  /** Settings of a {@link RateLimit} filter. */
  public static final class Builder {
    private String name;
    private RateLimitKey key = RateLimitKey.clientIp();
    private final List<Limit> limits = new ArrayList<>();
    private int maxConcurrent;
    private boolean shadow;
    private boolean failOpen = true;
    private boolean responseFields = true;
    private RateLimitStore store;
    private long maximumKeys = DEFAULT_MAXIMUM_KEYS;
    private boolean maximumKeysSet;
    private InstantSource clock = InstantSource.system();

    private Builder() {}

    /**
     * The filter's name: in logs, and before every key in the store, so filters sharing a store keep
     * their counts apart (give two filters the same name to share counts).
     *
     * @implSpec Defaults to {@code
     * rate-limit-N}.
     */
    public Builder name(String name) {
      Objects.requireNonNull(name, "name");
      if (!name.matches("[A-Za-z0-9._:-]{1,64}")) {
        throw new IllegalArgumentException("name: \"" + name + "\" (expected: 1-64 letters, digits or -._:)");
      }
      this.name = name;
      return this;
    }

    /**
     * What requests are counted under.
     *
     * @implSpec Defaults to {@link RateLimitKey#clientIp()}.
     */
    public Builder key(RateLimitKey key) {
      this.key = Objects.requireNonNull(key, "key");
      return this;
    }

    /** Adds a limit; a request must be within all of them. */
    public Builder limit(Limit limit) {
      Objects.requireNonNull(limit, "limit");
      for (Limit l : limits) {
        if (l.name().equals(limit.name())) {
          throw new IllegalArgumentException("limit: name " + limit.name() + " used twice (expected: a name per limit)");
        }
      }
      limits.add(limit);
      return this;
    }

    /** Most requests of one key in flight at once (until each response is fully sent); 0 for no limit. */
    public Builder maxConcurrent(int max) {
      if (max < 0) {
        throw new IllegalArgumentException("maxConcurrent: " + max + " (expected: >= 0)");
      }
      this.maxConcurrent = max;
      return this;
    }

    /**
     * Counts and logs, but refuses nothing.
     *
     * @implSpec Defaults to false.
     */
    public Builder shadowMode(boolean shadow) {
      this.shadow = shadow;
      return this;
    }

    /**
     * Whether requests pass (true) or get 503 (false) when the store fails.
     *
     * @implSpec Defaults to true.
     */
    public Builder failOpen(boolean failOpen) {
      this.failOpen = failOpen;
      return this;
    }

    /**
     * Whether responses carry {@code RateLimit-Policy} and {@code RateLimit}.
     *
     * @implSpec Defaults to true.
     */
    public Builder responseFields(boolean send) {
      this.responseFields = send;
      return this;
    }

    /**
     * The store to count in (e.g. a shared one).
     *
     * @implSpec Defaults to an in-memory store of its own.
     */
    public Builder store(RateLimitStore store) {
      this.store = Objects.requireNonNull(store, "store");
      return this;
    }

    /**
     * Most keys the default in-memory store holds.
     *
     * @implSpec Defaults to {@value RateLimit#DEFAULT_MAXIMUM_KEYS}.
     */
    public Builder maximumKeys(long max) {
      if (max < 1) {
        throw new IllegalArgumentException("maximumKeys: " + max + " (expected: > 0)");
      }
      this.maximumKeys = max;
      this.maximumKeysSet = true;
      return this;
    }

    /**
     * The clock limits are measured on.
     *
     * @implSpec Defaults to the system clock.
     */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Builds the filter.
     *
     * @throws IllegalStateException without limits, or with both a store and {@code maximumKeys}, or
     *     when the default store needs Caffeine and it is missing
     */
    public RateLimit build() {
      if (limits.isEmpty() && maxConcurrent == 0) {
        throw new IllegalStateException("limits: none (expected: at least one limit or maxConcurrent)");
      }
      if (store != null && maximumKeysSet) {
        throw new IllegalStateException("maximumKeys: " + maximumKeys + " with a store of your own (expected: one or the other)");
      }
      RateLimitStore s = store;
      if (s == null && !limits.isEmpty()) {
        s = RateLimitStore.inMemory(maximumKeys, clock);
      }
      return new RateLimit(this, s);
    }
  }
}
