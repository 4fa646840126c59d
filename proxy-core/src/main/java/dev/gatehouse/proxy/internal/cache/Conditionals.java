package dev.gatehouse.proxy.internal.cache;

import java.time.Instant;

/**
 * Client preconditions a cache evaluates against a stored response (RFC 9110 §13.1, RFC 9111 §4.3.2):
 * {@code If-None-Match} with the weak comparison, {@code If-Modified-Since} when there is no {@code
 * If-None-Match}, and {@code If-Range} with the strong comparison.
 */
final class Conditionals {
  private Conditionals() {}

  /**
   * Whether the client's conditional GET/HEAD is answered 304 by a stored response with {@code etag}
   * and {@code lastModified} ({@code date} stands in for a missing Last-Modified).
   */
  static boolean notModified(String ifNoneMatch, String ifModifiedSince, String etag, Instant lastModified,
      Instant date) {
    if (ifNoneMatch != null) {
      return etag != null && matchesAny(ifNoneMatch, etag, false);
    }
    if (ifModifiedSince != null) {
      Instant since = HttpDates.parse(ifModifiedSince);
      Instant modified = lastModified != null ? lastModified : date;
      return since != null && modified != null && !modified.isAfter(since);
    }
    return false;
  }

  /** Whether {@code list} (an If-None-Match or If-Match value) matches {@code etag}. */
  static boolean matchesAny(String list, String etag, boolean strong) {
    String l = list.trim();
    if (l.equals("*")) {
      return true;
    }
    if (strong && isWeak(etag)) {
      return false;
    }
    String opaque = opaque(etag);
    if (opaque == null) {
      return false;
    }
    int i = 0;
    int n = l.length();
    while (i < n) {
      char c = l.charAt(i);
      if (c == ',' || c == ' ' || c == '\t') {
        i++;
        continue;
      }
      boolean weak = false;
      if (c == 'W' && i + 1 < n && l.charAt(i + 1) == '/') {
        weak = true;
        i += 2;
      }
      if (i >= n || l.charAt(i) != '"') {
        return false; // malformed list: no match
      }
      int end = l.indexOf('"', i + 1);
      if (end < 0) {
        return false;
      }
      String candidate = l.substring(i, end + 1);
      if ((!strong || !weak) && candidate.equals(opaque)) {
        return true;
      }
      i = end + 1;
    }
    return false;
  }

  /** Whether {@code If-Range} lets a range be served from a response with these validators. */
  static boolean ifRangeHolds(String ifRange, String etag, String lastModifiedText, Instant lastModified) {
    String v = ifRange.trim();
    if (v.startsWith("\"") || v.startsWith("W/")) {
      return etag != null && !isWeak(etag) && !v.startsWith("W/") && v.equals(opaque(etag));
    }
    Instant d = HttpDates.parse(v);
    return d != null && lastModified != null && d.equals(lastModified);
  }

  static boolean isWeak(String etag) {
    return etag.trim().startsWith("W/");
  }

  /** The quoted opaque tag of an entity tag, or null if malformed. */
  static String opaque(String etag) {
    String e = etag.trim();
    if (e.startsWith("W/")) {
      e = e.substring(2);
    }
    if (e.length() < 2 || e.charAt(0) != '"' || e.charAt(e.length() - 1) != '"') {
      return null;
    }
    return e;
  }
}
