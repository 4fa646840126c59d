package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.cache.UseStale;
import dev.gatehouse.proxy.internal.exchange.HeaderMapHeaders;
import io.undertow.util.HeaderMap;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;

/** Settings and requests for the semantics tests (no store, no proxy). */
final class TestSettings {
  private TestSettings() {}

  static CacheSettings defaults() {
    return new CacheSettings("test", null, HttpCache.DEFAULT_MAX_OBJECT_SIZE.toBytes(),
        HttpCache.DEFAULT_HEURISTIC_FRACTION, HttpCache.DEFAULT_HEURISTIC_CAP, false, List.of("cdn-cache-control"),
        "Surrogate-Key", Set.of(), java.time.Duration.ZERO, HttpCache.DEFAULT_COLLAPSE_TIMEOUT,
        HttpCache.DEFAULT_HIT_FOR_MISS, null, InstantSource.system());
  }

  static CacheSettings withSetCookie() {
    CacheSettings d = defaults();
    return new CacheSettings(d.name(), null, d.maxObjectSize(), d.heuristicFraction(), d.heuristicCap(), true,
        d.targetedFields(), d.surrogateKeyField(), d.useStale(), d.useStaleLimit(), d.collapseTimeout(),
        d.hitForMiss(), null, d.clock());
  }

  static CacheSettings withUseStale() {
    CacheSettings d = defaults();
    return new CacheSettings(d.name(), null, d.maxObjectSize(), d.heuristicFraction(), d.heuristicCap(), false,
        d.targetedFields(), d.surrogateKeyField(), Set.of(UseStale.ERROR), java.time.Duration.ofMinutes(1),
        d.collapseTimeout(), d.hitForMiss(), null, d.clock());
  }

  /** Header fields from name, value pairs. */
  static HttpHeaders fields(String... nameValues) {
    HttpHeaders h = new HeaderMapHeaders(new HeaderMap());
    for (int i = 0; i < nameValues.length; i += 2) {
      h.add(nameValues[i], nameValues[i + 1]);
    }
    return h;
  }

  static HeaderMap map(String... nameValues) {
    HeaderMap m = new HeaderMap();
    HttpHeaders h = new HeaderMapHeaders(m);
    for (int i = 0; i < nameValues.length; i += 2) {
      h.add(nameValues[i], nameValues[i + 1]);
    }
    return m;
  }

  static CacheRequest get(String... nameValues) {
    return new CacheRequest("http://example.com/a", "GET", fields(nameValues));
  }
}
