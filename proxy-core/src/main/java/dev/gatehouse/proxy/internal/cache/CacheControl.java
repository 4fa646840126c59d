package dev.gatehouse.proxy.internal.cache;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Parsed cache directives (RFC 9111 §5.2, RFC 5861, RFC 8246) of a request or a response. Directive
 * names are case-insensitive; a repeated directive counts by its first occurrence (§4.2.1); an invalid
 * {@code max-age} or {@code s-maxage} makes the response stale (0), as §4.2.1 encourages.
 *
 * <p>Why one class of this size: the directive grammar and an accessor per directive, in one place as in the
 * RFCs' directive registry.
 */
final class CacheControl {
  /** Largest delta-seconds a cache must handle (§1.2.2); larger values are taken as this. */
  static final long MAX_DELTA = 2147483648L;
  static final CacheControl EMPTY = new CacheControl();

  long maxAge = -1;
  long sMaxAge = -1;
  /** Request: -1 absent, MAX_DELTA for "any staleness". */
  long maxStale = -1;
  long minFresh = -1;
  long staleWhileRevalidate = -1;
  long staleIfError = -1;
  boolean noCache;
  /** Field names of a qualified no-cache (response), lower case; empty when unqualified. */
  List<String> noCacheFields = List.of();
  boolean noStore;
  boolean isPrivate;
  /** Field names of a qualified private (response), lower case; empty when unqualified. */
  List<String> privateFields = List.of();
  boolean isPublic;
  boolean mustRevalidate;
  boolean proxyRevalidate;
  boolean mustUnderstand;
  boolean noTransform;
  boolean onlyIfCached;
  boolean immutable;
  /** Any directive at all was present. */
  boolean present;

  /** Parses the values of every {@code Cache-Control} field line; null or empty values give EMPTY. */
  static CacheControl parse(List<String> values) {
    if (values == null || values.isEmpty()) {
      return EMPTY;
    }
    CacheControl cc = new CacheControl();
    boolean[] seen = new boolean[Directive.values().length];
    for (String v : values) {
      parseInto(cc, v, seen);
    }
    return cc;
  }

  static CacheControl parse(String value) {
    return value == null ? EMPTY : parse(List.of(value));
  }

  private enum Directive {
    MAX_AGE, S_MAXAGE, MAX_STALE, MIN_FRESH, SWR, SIE, NO_CACHE, NO_STORE, PRIVATE, PUBLIC, MUST_REVALIDATE,
    PROXY_REVALIDATE, MUST_UNDERSTAND, NO_TRANSFORM, ONLY_IF_CACHED, IMMUTABLE
  }

  private static void parseInto(CacheControl cc, String s, boolean[] seen) {
    int i = 0;
    int n = s.length();
    while (i < n) {
      // skip separators and whitespace
      char c = s.charAt(i);
      if (c == ',' || c == ' ' || c == '\t') {
        i++;
        continue;
      }
      int nameStart = i;
      while (i < n && s.charAt(i) != '=' && s.charAt(i) != ',') {
        i++;
      }
      String name = s.substring(nameStart, i).trim().toLowerCase(Locale.ROOT);
      String value = null;
      boolean quoted = false;
      if (i < n && s.charAt(i) == '=') {
        i++;
        while (i < n && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
          i++;
        }
        if (i < n && s.charAt(i) == '"') {
          quoted = true;
          StringBuilder sb = new StringBuilder();
          i++;
          while (i < n && s.charAt(i) != '"') {
            if (s.charAt(i) == '\\' && i + 1 < n) {
              i++;
            }
            sb.append(s.charAt(i));
            i++;
          }
          i++; // closing quote
          value = sb.toString();
          while (i < n && s.charAt(i) != ',') {
            i++;
          }
        } else {
          int vs = i;
          while (i < n && s.charAt(i) != ',') {
            i++;
          }
          value = s.substring(vs, i).trim();
        }
      }
      if (!name.isEmpty()) {
        cc.present = true;
        apply(cc, name, value, quoted, seen);
      }
    }
  }

  private static void apply(CacheControl cc, String name, String value, boolean quoted, boolean[] seen) {
    Directive d;
    switch (name) {
      case "max-age": d = Directive.MAX_AGE; break;
      case "s-maxage": d = Directive.S_MAXAGE; break;
      case "max-stale": d = Directive.MAX_STALE; break;
      case "min-fresh": d = Directive.MIN_FRESH; break;
      case "stale-while-revalidate": d = Directive.SWR; break;
      case "stale-if-error": d = Directive.SIE; break;
      case "no-cache": d = Directive.NO_CACHE; break;
      case "no-store": d = Directive.NO_STORE; break;
      case "private": d = Directive.PRIVATE; break;
      case "public": d = Directive.PUBLIC; break;
      case "must-revalidate": d = Directive.MUST_REVALIDATE; break;
      case "proxy-revalidate": d = Directive.PROXY_REVALIDATE; break;
      case "must-understand": d = Directive.MUST_UNDERSTAND; break;
      case "no-transform": d = Directive.NO_TRANSFORM; break;
      case "only-if-cached": d = Directive.ONLY_IF_CACHED; break;
      case "immutable": d = Directive.IMMUTABLE; break;
      default: return; // unknown directives are ignored (§5.2.3)
    }
    if (seen[d.ordinal()]) {
      return;
    }
    seen[d.ordinal()] = true;
    switch (d) {
      case MAX_AGE: cc.maxAge = deltaOrStale(value); break;
      case S_MAXAGE: cc.sMaxAge = deltaOrStale(value); break;
      case MAX_STALE: cc.maxStale = value == null ? MAX_DELTA : Math.max(0, delta(value)); break;
      case MIN_FRESH: cc.minFresh = Math.max(0, delta(value)); break;
      case SWR: cc.staleWhileRevalidate = delta(value); break;
      case SIE: cc.staleIfError = delta(value); break;
      case NO_CACHE:
        cc.noCache = true;
        cc.noCacheFields = fieldList(value);
        break;
      case NO_STORE: cc.noStore = true; break;
      case PRIVATE:
        cc.isPrivate = true;
        cc.privateFields = fieldList(value);
        break;
      case PUBLIC: cc.isPublic = true; break;
      case MUST_REVALIDATE: cc.mustRevalidate = true; break;
      case PROXY_REVALIDATE: cc.proxyRevalidate = true; break;
      case MUST_UNDERSTAND: cc.mustUnderstand = true; break;
      case NO_TRANSFORM: cc.noTransform = true; break;
      case ONLY_IF_CACHED: cc.onlyIfCached = true; break;
      case IMMUTABLE: cc.immutable = true; break;
      default: break;
    }
  }

  /** A delta-seconds value, or -1 if absent or invalid. */
  static long delta(String value) {
    if (value == null || value.isEmpty()) {
      return -1;
    }
    long n = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      n = n * 10 + (c - '0');
      if (n >= MAX_DELTA) {
        return MAX_DELTA;
      }
    }
    return n;
  }

  private static long deltaOrStale(String value) {
    long d = delta(value);
    return d < 0 ? 0 : d;
  }

  private static List<String> fieldList(String value) {
    if (value == null || value.isBlank()) {
      return List.of();
    }
    List<String> out = new ArrayList<>(2);
    for (String f : value.split(",")) {
      String t = f.trim().toLowerCase(Locale.ROOT);
      if (!t.isEmpty()) {
        out.add(t);
      }
    }
    return List.copyOf(out);
  }

  // ---------------------------------------------------------------- targeted fields (RFC 9213)

  /**
   * Parses a targeted cache-control field (RFC 9213 §2.1): a Structured Fields dictionary (RFC 8941).
   * Returns null when the field is empty or does not parse, so the caller falls back to the next field
   * or to {@code Cache-Control}. A directive whose value has the wrong type is ignored.
   */
  static CacheControl parseTargeted(List<String> values) {
    if (values == null || values.isEmpty()) {
      return null;
    }
    String s = String.join(",", values);
    CacheControl cc = new CacheControl();
    boolean[] seen = new boolean[Directive.values().length];
    SfParser p = new SfParser(s);
    try {
      p.skipSpaces();
      if (p.atEnd()) {
        return null;
      }
      for (;;) {
        String key = p.key();
        Object value = Boolean.TRUE;
        if (p.peek() == '=') {
          p.advance();
          value = p.bareItem();
        }
        p.skipParameters();
        applyTargeted(cc, key, value, seen);
        p.skipOws();
        if (p.atEnd()) {
          break;
        }
        p.expect(',');
        p.skipOws();
        if (p.atEnd()) {
          return null; // trailing comma
        }
      }
    } catch (IllegalArgumentException e) {
      return null;
    }
    cc.present = true;
    return cc;
  }

  private static void applyTargeted(CacheControl cc, String key, Object value, boolean[] seen) {
    // RFC 8941: a later member with the same key overrides the earlier one
    switch (key) {
      case "max-age":
      case "s-maxage":
      case "stale-while-revalidate":
      case "stale-if-error":
        if (value instanceof Long && (Long) value >= 0) {
          long v = Math.min((Long) value, MAX_DELTA);
          switch (key) {
            case "max-age": cc.maxAge = v; break;
            case "s-maxage": cc.sMaxAge = v; break;
            case "stale-while-revalidate": cc.staleWhileRevalidate = v; break;
            default: cc.staleIfError = v; break;
          }
        }
        break;
      case "no-store": cc.noStore = Boolean.TRUE.equals(value); break;
      case "no-cache":
        cc.noCache = Boolean.TRUE.equals(value) || value instanceof String;
        cc.noCacheFields = value instanceof String ? fieldList((String) value) : List.of();
        break;
      case "private":
        cc.isPrivate = Boolean.TRUE.equals(value) || value instanceof String;
        cc.privateFields = value instanceof String ? fieldList((String) value) : List.of();
        break;
      case "public": cc.isPublic = Boolean.TRUE.equals(value); break;
      case "must-revalidate": cc.mustRevalidate = Boolean.TRUE.equals(value); break;
      case "proxy-revalidate": cc.proxyRevalidate = Boolean.TRUE.equals(value); break;
      case "no-transform": cc.noTransform = Boolean.TRUE.equals(value); break;
      case "immutable": cc.immutable = Boolean.TRUE.equals(value); break;
      default: break;
    }
  }

  /** The small part of an RFC 8941 parser a dictionary of cache directives needs. */
  private static final class SfParser {
    private final String s;
    private int i;

    SfParser(String s) {
      this.s = s;
    }

    boolean atEnd() {
      return i >= s.length();
    }

    char peek() {
      return atEnd() ? 0 : s.charAt(i);
    }

    void advance() {
      i++;
    }

    void expect(char c) {
      if (peek() != c) {
        throw new IllegalArgumentException("expected " + c);
      }
      i++;
    }

    void skipSpaces() {
      while (!atEnd() && s.charAt(i) == ' ') {
        i++;
      }
    }

    void skipOws() {
      while (!atEnd() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
        i++;
      }
    }

    String key() {
      char c = peek();
      if (!(c >= 'a' && c <= 'z') && c != '*') {
        throw new IllegalArgumentException("key");
      }
      int start = i;
      while (!atEnd()) {
        c = s.charAt(i);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '*') {
          i++;
        } else {
          break;
        }
      }
      return s.substring(start, i);
    }

    Object bareItem() {
      char c = peek();
      if (c == '-' || (c >= '0' && c <= '9')) {
        return number();
      }
      if (c == '"') {
        return string();
      }
      if (c == '?') {
        i++;
        char b = peek();
        if (b != '0' && b != '1') {
          throw new IllegalArgumentException("boolean");
        }
        i++;
        return b == '1';
      }
      if (c == ':') {
        int end = s.indexOf(':', i + 1);
        if (end < 0) {
          throw new IllegalArgumentException("bytes");
        }
        i = end + 1;
        return new Object();
      }
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*') {
        int start = i;
        i++;
        while (!atEnd()) {
          char t = s.charAt(i);
          if (dev.gatehouse.proxy.internal.http1.Http.isTokenChar(t) || t == ':' || t == '/') {
            i++;
          } else {
            break;
          }
        }
        return new Token(s.substring(start, i));
      }
      throw new IllegalArgumentException("item");
    }

    private Object number() {
      int start = i;
      if (peek() == '-') {
        i++;
      }
      int digits = 0;
      boolean decimal = false;
      while (!atEnd()) {
        char c = s.charAt(i);
        if (c >= '0' && c <= '9') {
          digits++;
          i++;
        } else if (c == '.' && !decimal) {
          decimal = true;
          i++;
        } else {
          break;
        }
      }
      if (digits == 0 || digits > 15) {
        throw new IllegalArgumentException("number");
      }
      String text = s.substring(start, i);
      if (decimal) {
        return Double.parseDouble(text);
      }
      return Long.parseLong(text);
    }

    private String string() {
      StringBuilder sb = new StringBuilder();
      i++;
      while (!atEnd()) {
        char c = s.charAt(i++);
        if (c == '\\') {
          if (atEnd()) {
            throw new IllegalArgumentException("escape");
          }
          char e = s.charAt(i++);
          if (e != '"' && e != '\\') {
            throw new IllegalArgumentException("escape");
          }
          sb.append(e);
        } else if (c == '"') {
          return sb.toString();
        } else if (c < 0x20 || c >= 0x7F) {
          throw new IllegalArgumentException("string");
        } else {
          sb.append(c);
        }
      }
      throw new IllegalArgumentException("unterminated string");
    }

    void skipParameters() {
      while (peek() == ';') {
        i++;
        skipSpaces();
        key();
        if (peek() == '=') {
          i++;
          bareItem();
        }
      }
    }
  }

  /** An sf-token value (never valid for the directives the cache uses). */
  private record Token(String text) {}
}
