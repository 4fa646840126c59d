package dev.gatehouse.proxy.cache;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.internal.cache.CacheAccess;
import dev.gatehouse.proxy.internal.cache.CacheEngine;
import dev.gatehouse.proxy.internal.cache.CacheKeys;
import dev.gatehouse.proxy.internal.cache.CacheSettings;
import dev.gatehouse.proxy.internal.cache.PurgeFilter;
import dev.gatehouse.proxy.internal.http1.Http;
import dev.gatehouse.proxy.spi.CidrSet;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import org.jspecify.annotations.Nullable;

/**
 * A shared HTTP cache (RFC 9111) for the reverse and the forward proxy: it stores what the origin's
 * {@code Cache-Control} (or {@code CDN-Cache-Control}) allows a shared cache to store, serves it while
 * fresh, revalidates it when stale, and never serves a response meant for one user to another.
 *
 * <pre>{@code
 * HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(256));
 * ProxyServer proxy = ReverseProxy.builder()
 *     .cache(cache)                                  // every route, unless a route says otherwise
 *     .addRoute(Route.pathPrefix("/").to("http://app:8080"))
 *     .build().start();
 * ...
 * cache.purgeTag("product-42");                      // every page tagged Surrogate-Key: product-42
 * }</pre>
 *
 * <p><b>Where it runs.</b> The cache is the last step before the upstream: after every filter (global
 * and route filters, proxy authentication and the egress policy of a forward proxy), so a hit is only
 * served to a request the filters let through, and response filters see hits as they see misses. It
 * stores what the upstream sent, before response filters change it.
 *
 * <p><b>What is stored.</b> Final responses to {@code GET} (and {@code HEAD}, fetched as {@code GET})
 * whose status the cache understands, that carry explicit freshness ({@code max-age}, {@code s-maxage},
 * {@code Expires}) or a status that is heuristically cacheable with a {@code Last-Modified}; not with
 * {@code no-store} (request or response) or {@code private}; for a request with {@code Authorization}
 * only when the response says {@code public}, {@code s-maxage} or {@code must-revalidate}; responses with
 * {@code Set-Cookie} only when {@link Builder#storeResponsesWithSetCookie(boolean) allowed}, and then
 * without the cookie; never a response over the {@link Builder#maxObjectSize(DataSize) maximum object
 * size} (it still streams to its client), never a partial ({@code 206}) response.
 *
 * <p><b>Headers it adds.</b> {@code Age} on every stored response it serves, and {@code Cache-Status}
 * (RFC 9211) on every response that went through it, e.g. {@code gatehouse; hit; ttl=42} or {@code
 * gatehouse; fwd=uri-miss; fwd-status=200; stored}.
 *
 * <p><b>Lifecycle.</b> A cache may serve several proxies (and outlives them); close it after them,
 * which stops the store's threads (the file store keeps its files).
 */
public final class HttpCache implements AutoCloseable {
  /** Default name in {@code Cache-Status}. */
  public static final String DEFAULT_NAME = "gatehouse";
  /** Default largest response body stored. */
  public static final DataSize DEFAULT_MAX_OBJECT_SIZE = DataSize.ofMiB(8);
  /** Default share of a response's {@code Last-Modified} age used as heuristic freshness (RFC 9111 §4.2.2). */
  public static final double DEFAULT_HEURISTIC_FRACTION = 0.1;
  /** Default cap of heuristic freshness. */
  public static final Duration DEFAULT_HEURISTIC_CAP = Duration.ofDays(1);
  /** Default targeted cache-control fields (RFC 9213), in precedence order. */
  public static final List<String> DEFAULT_TARGETED_FIELDS = List.of("CDN-Cache-Control");
  /** Default response field carrying surrogate keys (tags); removed before the client sees the response. */
  public static final String DEFAULT_SURROGATE_KEY_FIELD = "Surrogate-Key";
  /** Default longest wait for another request's fetch of the same key before going upstream alone. */
  public static final Duration DEFAULT_COLLAPSE_TIMEOUT = Duration.ofSeconds(10);
  /** Default time a key whose response could not be stored is fetched without collapsing (hit-for-miss). */
  public static final Duration DEFAULT_HIT_FOR_MISS = Duration.ofMinutes(2);

  static {
    CacheAccess.install(c -> c.engine);
  }

  private final CacheEngine engine;

  private HttpCache(CacheSettings settings) {
    this.engine = new CacheEngine(settings);
  }

  /** A cache in memory bounded by {@code maxSize}, with the defaults. See {@link CacheStore#inMemory}. */
  public static HttpCache inMemory(DataSize maxSize) {
    return builder(CacheStore.inMemory(maxSize)).build();
  }

  /**
   * A cache in files under {@code directory} bounded by {@code maxSize}, with the defaults; what it
   * stored survives a restart. See {@link CacheStore#files}.
   */
  public static HttpCache fileStore(Path directory, DataSize maxSize) {
    return builder(CacheStore.files(directory, maxSize)).build();
  }

  /** A builder for a cache keeping its responses in {@code store}. */
  public static Builder builder(CacheStore store) {
    return new Builder(store);
  }

  /** The name this cache gives itself in {@code Cache-Status}. */
  public String name() {
    return engine.settings().name();
  }

  /**
   * Removes every stored response for {@code uri} (all its variants), e.g. {@code
   * https://shop.example.com/products/42}. The URI is the one clients ask for (its default key); with
   * a {@link Builder#key custom key}, use {@link #purgeKey(String)}.
   *
   * @return how many responses were removed
   */
  public CompletionStage<Long> purge(URI uri) {
    Objects.requireNonNull(uri, "uri");
    return engine.purgeKey(CacheKeys.keyOf(uri));
  }

  /** Removes every stored response under {@code key}. @return how many were removed */
  public CompletionStage<Long> purgeKey(String key) {
    return engine.purgeKey(Objects.requireNonNull(key, "key"));
  }

  /**
   * Removes every stored response the origin tagged {@code tag} in its {@link
   * Builder#surrogateKeyField surrogate-key field}, e.g. {@code Surrogate-Key: product-42 catalog}.
   *
   * @return how many responses were removed
   */
  public CompletionStage<Long> purgeTag(String tag) {
    return engine.purgeTag(Objects.requireNonNull(tag, "tag"));
  }

  /** Removes everything. @return how many responses were removed */
  public CompletionStage<Long> purgeAll() {
    return engine.purgeAll();
  }

  /** The counters so far, and what the store holds now. */
  public CacheStats stats() {
    return engine.stats();
  }

  /**
   * A filter that answers {@code PURGE} requests from {@code trustedCidrs} (addresses or CIDR blocks,
   * e.g. {@code "10.0.0.0/8"}): {@code PURGE /path} removes that URI's responses, and {@code PURGE} with
   * a {@code Surrogate-Key} request field removes the responses with those tags; the answer is {@code
   * 200 purged N}. A {@code PURGE} from any other address gets 403; other methods pass on. Add it as the
   * first filter: {@code builder.addFilter(cache.purgeRequests("127.0.0.1"))}. Nothing answers {@code
   * PURGE} unless this filter is added.
   *
   * @throws IllegalArgumentException if an entry is not an address or CIDR block, or none is given
   */
  public Filter purgeRequests(String... trustedCidrs) {
    Objects.requireNonNull(trustedCidrs, "trustedCidrs");
    if (trustedCidrs.length == 0) {
      throw new IllegalArgumentException("trustedCidrs: none (expected: at least one address or CIDR block)");
    }
    List<String> list = new ArrayList<>();
    for (String c : trustedCidrs) {
      list.add(Objects.requireNonNull(c, "trustedCidr"));
    }
    return Filter.named("cache purge", new PurgeFilter(engine, CidrSet.parseAll(list, "trustedCidrs")));
  }

  /** Closes the store (its threads stop; a file store keeps its files for the next start). Idempotent. */
  @Override
  public void close() {
    engine.close();
  }

  @Override
  public String toString() {
    return "HttpCache(" + name() + ", " + engine.settings().store().getClass().getSimpleName() + ")";
  }

  /**
   * The settings of an {@link HttpCache}; every setter checks its value at once. Not thread-safe.
   */
  public static final class Builder {
    private final CacheStore store;
    private String name = DEFAULT_NAME;
    private long maxObjectSize = DEFAULT_MAX_OBJECT_SIZE.toBytes();
    private double heuristicFraction = DEFAULT_HEURISTIC_FRACTION;
    private Duration heuristicCap = DEFAULT_HEURISTIC_CAP;
    private boolean storeSetCookie;
    private List<String> targetedFields = lower(DEFAULT_TARGETED_FIELDS);
    private String surrogateKeyField = DEFAULT_SURROGATE_KEY_FIELD;
    private Set<UseStale> useStale = EnumSet.noneOf(UseStale.class);
    private Duration useStaleLimit = Duration.ZERO;
    private Duration collapseTimeout = DEFAULT_COLLAPSE_TIMEOUT;
    private Duration hitForMiss = DEFAULT_HIT_FOR_MISS;
    private BiFunction<ProxyExchange, String, String> key;
    private InstantSource clock = InstantSource.system();

    private Builder(CacheStore store) {
      this.store = Objects.requireNonNull(store, "store");
    }

    /**
     * The name in {@code Cache-Status}; an RFC 9110 token.
     *
     * @implSpec Defaults to {@code gatehouse}.
     */
    public Builder name(String name) {
      Objects.requireNonNull(name, "name");
      if (!Http.isToken(name)) {
        throw new IllegalArgumentException("name: \"" + name + "\" (expected: a token such as gatehouse)");
      }
      this.name = name;
      return this;
    }

    /**
     * Largest body stored; a larger response (by {@code Content-Length}, or as it streams) still goes to
     * its client, unstored.
     *
     * @implSpec Defaults to 8 MiB.
     */
    public Builder maxObjectSize(DataSize size) {
      Objects.requireNonNull(size, "maxObjectSize");
      if (size.toBytes() < 1) {
        throw new IllegalArgumentException("maxObjectSize: " + size + " (expected: > 0)");
      }
      this.maxObjectSize = size.toBytes();
      return this;
    }

    /**
     * Heuristic freshness (RFC 9111 §4.2.2) for a response without explicit freshness that the RFC lets
     * a cache store anyway (200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501, or {@code public}):
     * {@code fraction} of the time since its {@code Last-Modified}, at most {@code cap}; a fraction of 0
     * turns heuristics off.
     *
     * @implSpec Defaults to 0.1 and one day.
     */
    public Builder heuristicFreshness(double fraction, Duration cap) {
      Objects.requireNonNull(cap, "cap");
      if (!(fraction >= 0 && fraction <= 1)) {
        throw new IllegalArgumentException("heuristicFreshness fraction: " + fraction + " (expected: 0-1)");
      }
      if (cap.isNegative()) {
        throw new IllegalArgumentException("heuristicFreshness cap: " + cap + " (expected: >= 0)");
      }
      this.heuristicFraction = fraction;
      this.heuristicCap = cap;
      return this;
    }

    /**
     * Whether a response with {@code Set-Cookie} is stored (without its {@code Set-Cookie}: the client
     * that caused the fetch gets the cookie, later clients do not).
     *
     * @implSpec Defaults to false: such
     * responses are not stored.
     */
    public Builder storeResponsesWithSetCookie(boolean store) {
      this.storeSetCookie = store;
      return this;
    }

    /**
     * The targeted cache-control fields this cache obeys (RFC 9213), in precedence order: the first
     * present with a valid value replaces {@code Cache-Control} and {@code Expires} for this cache. None
     * turns targeting off.
     *
     * @implSpec Defaults to {@code CDN-Cache-Control}.
     */
    public Builder targetedFields(String... fieldNames) {
      Objects.requireNonNull(fieldNames, "fieldNames");
      for (String f : fieldNames) {
        Objects.requireNonNull(f, "fieldName");
        if (!Http.isToken(f)) {
          throw new IllegalArgumentException("targetedFields: \"" + f + "\" (expected: a header field name)");
        }
      }
      this.targetedFields = lower(Arrays.asList(fieldNames));
      return this;
    }

    /**
     * The response field listing surrogate keys (space-separated tags) for {@link
     * HttpCache#purgeTag(String)}; it is removed before the client sees the response. {@code null}
     * disables tags.
     *
     * @implSpec Defaults to {@code Surrogate-Key}.
     */
    public Builder surrogateKeyField(@Nullable String fieldName) {
      if (fieldName != null && !Http.isToken(fieldName)) {
        throw new IllegalArgumentException("surrogateKeyField: \"" + fieldName + "\" (expected: a header field name or null)");
      }
      this.surrogateKeyField = fieldName;
      return this;
    }

    /**
     * Serves a stale stored response, at most {@code limit} past its freshness, when one of {@code
     * conditions} happens (nginx's {@code proxy_cache_use_stale}); with {@link UseStale#UPDATING} the
     * response is revalidated in the background meanwhile. None turns it off. The origin's own {@code
     * stale-if-error} and {@code stale-while-revalidate} apply whatever this says.
     *
     * @implSpec Defaults to none.
     */
    public Builder useStale(Duration limit, UseStale... conditions) {
      Objects.requireNonNull(limit, "limit");
      Objects.requireNonNull(conditions, "conditions");
      if (limit.isNegative()) {
        throw new IllegalArgumentException("useStale limit: " + limit + " (expected: >= 0)");
      }
      Set<UseStale> set = EnumSet.noneOf(UseStale.class);
      for (UseStale c : conditions) {
        set.add(Objects.requireNonNull(c, "condition"));
      }
      this.useStale = set;
      this.useStaleLimit = limit;
      return this;
    }

    /**
     * Concurrent misses for one key wait for the first one's upstream response (and are served from it
     * as it streams) at most this long for its head; then each goes upstream alone. {@link
     * Duration#ZERO} turns collapsing off.
     *
     * @implSpec Defaults to 10 s.
     */
    public Builder collapseTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "collapseTimeout");
      if (timeout.isNegative()) {
        throw new IllegalArgumentException("collapseTimeout: " + timeout + " (expected: >= 0)");
      }
      this.collapseTimeout = timeout;
      return this;
    }

    /**
     * How long a key whose response turned out not storable is fetched without collapsing (Varnish's
     * hit-for-miss), so that its requests do not queue behind each other.
     *
     * @implSpec Defaults to 2 minutes.
     */
    public Builder hitForMiss(Duration duration) {
      Objects.requireNonNull(duration, "hitForMiss");
      if (duration.isNegative()) {
        throw new IllegalArgumentException("hitForMiss: " + duration + " (expected: >= 0)");
      }
      this.hitForMiss = duration;
      return this;
    }

    /**
     * Computes the cache key from the exchange and the default key (the URI the client asked for: scheme,
     * authority, path and query, e.g. {@code https://example.com/a?b=1}), to ignore some query
     * parameters or add a request field. Called on an I/O thread; must be quick and must not return null.
     * Purging by URI uses the default key; with a key function, purge with {@link HttpCache#purgeKey}.
     *
     * <pre>{@code
     * .key((exchange, uri) -> uri.replaceAll("([?&])utm_[^&]*&?", "$1"))
     * }</pre>
     *
     * @implSpec Defaults to the default key.
     */
    public Builder key(BiFunction<ProxyExchange, String, String> keyFunction) {
      this.key = Objects.requireNonNull(keyFunction, "key");
      return this;
    }

    /**
     * The clock for ages and freshness (tests drive it).
     *
     * @implSpec Defaults to the system clock.
     */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Builds the cache. */
    public HttpCache build() {
      return new HttpCache(new CacheSettings(name, store, maxObjectSize, heuristicFraction, heuristicCap,
          storeSetCookie, targetedFields, surrogateKeyField, Set.copyOf(useStale), useStaleLimit, collapseTimeout,
          hitForMiss, key, clock));
    }

    private static List<String> lower(List<String> names) {
      List<String> out = new ArrayList<>(names.size());
      for (String n : names) {
        out.add(n.toLowerCase(Locale.ROOT));
      }
      return List.copyOf(out);
    }
  }
}
