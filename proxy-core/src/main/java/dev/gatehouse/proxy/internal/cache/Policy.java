package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.cache.StoredResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a stored (or about to be stored) response says about its caching, for a shared cache: the
 * directives that apply to this cache (a targeted field per RFC 9213 when present and valid, else
 * {@code Cache-Control}), its freshness lifetime (RFC 9111 §4.2.1, heuristics per §4.2.2), its
 * validators and its {@code Vary}.
 */
final class Policy {
  /** Status codes whose semantics the cache understands (RFC 9110 §15, less 206 and 304). */
  private static final int[] UNDERSTOOD = {200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308, 400, 401,
      402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 451, 500, 501,
      502, 503, 504, 505};
  /** Heuristically cacheable status codes (RFC 9110 §15.1), less 206. */
  private static final int[] HEURISTIC = {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501};

  final CacheControl cc;
  final boolean targeted;
  /** Freshness lifetime in seconds (0 when none). */
  final long lifetime;
  /** The lifetime comes from max-age, s-maxage or Expires (not heuristics). */
  final boolean explicit;
  final String etag;
  final String lastModifiedText;
  private final String dateText;
  /** Parsed on first use (most hits never need a date); immutable, so a racy first use is harmless. */
  private Dates dates;

  /** Lower-case field names of Vary, or an empty list; {@code ["*"]} for Vary: *. */
  final List<String> vary;

  private record Dates(Instant lastModified, Instant date) {}

  private Policy(CacheControl cc, boolean targeted, long lifetime, boolean explicit, String etag,
      String lastModifiedText, String dateText, List<String> vary) {
    this.cc = cc;
    this.targeted = targeted;
    this.lifetime = lifetime;
    this.explicit = explicit;
    this.etag = etag;
    this.lastModifiedText = lastModifiedText;
    this.dateText = dateText;
    this.vary = vary;
  }

  /** The Last-Modified date, or null. */
  Instant lastModified() {
    return dates().lastModified();
  }

  /** The Date, or null. */
  Instant date() {
    return dates().date();
  }

  private Dates dates() {
    Dates d = dates;
    if (d == null) {
      d = new Dates(HttpDates.parse(lastModifiedText), HttpDates.parse(dateText));
      dates = d;
    }
    return d;
  }

  /** The policy of {@code r} under {@code settings}. */
  static Policy of(StoredResponse r, CacheSettings settings) {
    List<String> cacheControl = null;
    List<String>[] targetedValues = null;
    List<String> targets = settings.targetedFields();
    String expires = null;
    String dateText = null;
    String etag = null;
    String lastModified = null;
    List<String> vary = null;
    for (Map.Entry<String, String> h : r.headers()) {
      String name = h.getKey();
      switch (name.length()) {
        case 4:
          if (name.equalsIgnoreCase("date")) {
            dateText = dateText == null ? h.getValue() : dateText;
            continue;
          }
          if (name.equalsIgnoreCase("etag")) {
            etag = etag == null ? h.getValue() : etag;
            continue;
          }
          if (name.equalsIgnoreCase("vary")) {
            vary = addVary(vary, h.getValue());
            continue;
          }
          break;
        case 7:
          if (name.equalsIgnoreCase("expires")) {
            expires = expires == null ? h.getValue() : expires;
            continue;
          }
          break;
        case 13:
          if (name.equalsIgnoreCase("cache-control")) {
            if (cacheControl == null) {
              cacheControl = new ArrayList<>(2);
            }
            cacheControl.add(h.getValue());
            continue;
          }
          if (name.equalsIgnoreCase("last-modified")) {
            lastModified = lastModified == null ? h.getValue() : lastModified;
            continue;
          }
          break;
        default:
          break;
      }
      if (!targets.isEmpty()) {
        for (int i = 0; i < targets.size(); i++) {
          if (name.equalsIgnoreCase(targets.get(i))) {
            if (targetedValues == null) {
              targetedValues = newLists(targets.size());
            }
            targetedValues[i].add(h.getValue());
          }
        }
      }
    }
    CacheControl cc = null;
    boolean targeted = false;
    if (targetedValues != null) {
      for (List<String> values : targetedValues) {
        CacheControl t = CacheControl.parseTargeted(values);
        if (t != null) {
          cc = t;
          targeted = true;
          break;
        }
      }
    }
    if (cc == null) {
      cc = CacheControl.parse(cacheControl);
    }
    long lifetime = 0;
    boolean explicit = true;
    if (cc.sMaxAge >= 0) {
      lifetime = cc.sMaxAge;
    } else if (cc.maxAge >= 0) {
      lifetime = cc.maxAge;
    } else if (!targeted && expires != null) {
      Instant e = HttpDates.parse(expires);
      Instant date = HttpDates.parse(dateText);
      Instant base = date != null ? date : r.responseTime();
      lifetime = e == null ? 0 : Math.max(0, Duration.between(base, e).getSeconds());
    } else {
      explicit = false;
      Instant lm = lastModified == null ? null : HttpDates.parse(lastModified);
      if (lm != null && settings.heuristicFraction() > 0 && (heuristicStatus(r.status()) || cc.isPublic)) {
        Instant date = HttpDates.parse(dateText);
        Instant base = date != null ? date : r.responseTime();
        long since = Duration.between(lm, base).getSeconds();
        if (since > 0) {
          lifetime = Math.min((long) (since * settings.heuristicFraction()), settings.heuristicCap().getSeconds());
        }
      }
    }
    return new Policy(cc, targeted, lifetime, explicit, etag, lastModified, dateText,
        vary == null ? List.of() : vary);
  }

  @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array
  private static List<String>[] newLists(int n) {
    List<String>[] a = new List[n];
    for (int i = 0; i < n; i++) {
      a[i] = new ArrayList<>(1);
    }
    return a;
  }

  private static List<String> addVary(List<String> vary, String value) {
    List<String> out = vary == null ? new ArrayList<>(2) : vary;
    for (String f : value.split(",")) {
      String t = f.trim().toLowerCase(Locale.ROOT);
      if (!t.isEmpty() && !out.contains(t)) {
        out.add(t);
      }
    }
    return out;
  }

  static boolean heuristicStatus(int status) {
    for (int s : HEURISTIC) {
      if (s == status) {
        return true;
      }
    }
    return false;
  }

  static boolean understood(int status) {
    for (int s : UNDERSTOOD) {
      if (s == status) {
        return true;
      }
    }
    return false;
  }

  /** {@code Vary: *}: never matches a request (RFC 9111 §4.1). */
  boolean varyStar() {
    return vary.contains("*");
  }

  /** Whether a stale response must not be served without validation (§4.2.4, §5.2.2.2, §5.2.2.8, §5.2.2.10). */
  boolean noStaleServing() {
    return cc.mustRevalidate || cc.proxyRevalidate || cc.sMaxAge >= 0 || cc.noCache;
  }

  /** Whether a stored response must be validated before every use ({@code no-cache} without field names). */
  boolean alwaysValidate() {
    return cc.noCache && cc.noCacheFields.isEmpty();
  }

  boolean hasValidator() {
    return etag != null || lastModifiedText != null;
  }

  /** The current age in seconds (§4.2.3): the corrected initial age plus the time since it arrived. */
  static long currentAge(StoredResponse r, Instant now) {
    long resident = Math.max(0, Duration.between(r.responseTime(), now).getSeconds());
    return r.initialAge().getSeconds() + resident;
  }

  /**
   * The corrected initial age (§4.2.3) of a response received at {@code responseTime} for a request sent
   * at {@code requestTime}, from its {@code Date} and {@code Age} fields.
   */
  static Duration initialAge(Instant requestTime, Instant responseTime, String dateText, String ageText) {
    Instant date = HttpDates.parse(dateText);
    long apparent = date == null ? 0 : Math.max(0, Duration.between(date, responseTime).getSeconds());
    long ageValue = ageText == null ? 0 : Math.max(0, CacheControl.delta(ageText.trim()));
    long delay = Math.max(0, Duration.between(requestTime, responseTime).getSeconds());
    return Duration.ofSeconds(Math.max(apparent, ageValue + delay));
  }
}
