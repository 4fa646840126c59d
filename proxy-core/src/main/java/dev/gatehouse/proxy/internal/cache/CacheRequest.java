package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import io.undertow.server.HttpServerExchange;
import java.util.List;

/** What the cache needs to know about a client's request, read once at the cache step. */
final class CacheRequest {
  final String key;
  /** The client's method (a HEAD may be fetched as GET). */
  final String method;
  final CacheControl cc;
  final boolean authorization;
  final String ifNoneMatch;
  final String ifModifiedSince;
  /** If-Match or If-Unmodified-Since: preconditions for the origin, not the cache (§4.3.2). */
  final boolean originPreconditions;
  final String range;
  final String ifRange;
  final HttpHeaders headers;

  /** The request for {@code key} by {@code method} with fields {@code h}. */
  CacheRequest(String key, String method, HttpHeaders h) {
    this.key = key;
    this.method = method;
    this.headers = h;
    List<String> ccValues = h.getAll("Cache-Control");
    if (!ccValues.isEmpty()) {
      this.cc = CacheControl.parse(ccValues);
    } else if (h.getAll("Pragma").stream().anyMatch(v -> v.toLowerCase(java.util.Locale.ROOT).contains("no-cache"))) {
      this.cc = CacheControl.parse("no-cache"); // §5.4: Pragma: no-cache without Cache-Control
    } else {
      this.cc = CacheControl.EMPTY;
    }
    this.authorization = h.contains("Authorization");
    this.ifNoneMatch = joined(h.getAll("If-None-Match"));
    this.ifModifiedSince = h.get("If-Modified-Since").orElse(null);
    this.originPreconditions = h.contains("If-Match") || h.contains("If-Unmodified-Since");
    this.range = h.get("Range").orElse(null);
    this.ifRange = h.get("If-Range").orElse(null);
  }

  static CacheRequest of(ExchangeImpl ex, CacheSettings settings) {
    String key = defaultKey(ex);
    if (settings.keyFunction() != null) {
      key = settings.keyFunction().apply(ex, key);
      if (key == null) {
        throw new IllegalStateException("cache key function returned null (expected: a key)");
      }
    }
    return new CacheRequest(key, ex.request().method(), ex.request().headers());
  }

  /** The URI the client asked for (before any route rewrite). */
  static String defaultKey(ExchangeImpl ex) {
    HttpServerExchange hse = ex.hse();
    String uri = hse.getRequestURI();
    String query = hse.getQueryString();
    if (hse.isHostIncludedInRequestURI()) {
      int s = uri.indexOf("://");
      int p = uri.indexOf('/', s + 3);
      return CacheKeys.key(uri.substring(0, s), uri.substring(s + 3, p < 0 ? uri.length() : p),
          p < 0 ? "/" : uri.substring(p), query == null ? "" : query);
    }
    return CacheKeys.key(ex.request().scheme(), ex.request().authority(), uri, query == null ? "" : query);
  }

  boolean conditional() {
    return ifNoneMatch != null || ifModifiedSince != null;
  }

  boolean isHead() {
    return "HEAD".equals(method);
  }

  private static String joined(List<String> values) {
    if (values.isEmpty()) {
      return null;
    }
    return values.size() == 1 ? values.get(0) : String.join(", ", values);
  }
}
