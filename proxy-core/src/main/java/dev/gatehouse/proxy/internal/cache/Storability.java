package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.cache.StoredResponse;
import dev.gatehouse.proxy.internal.http1.HttpDuties;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Whether a response may be stored by a shared cache (RFC 9111 §3, §3.5, §5.2), and the form it is
 * stored in: without hop-by-hop fields, {@code Content-Length}, {@code Age}, the fields a qualified
 * {@code private} or {@code no-cache} names, {@code Set-Cookie} or the surrogate-key field; with a
 * {@code Date} when the upstream sent none; with its variant, tags and corrected initial age.
 */
final class Storability {
  private Storability() {}

  /** A response in the form it would be stored, its policy, and why it may not be (null if it may). */
  record Candidate(StoredResponse response, Policy policy, String refusal) {}

  static Candidate of(CacheRequest req, int status, HeaderMap live, Instant requestTime, Instant responseTime,
      CacheSettings s) {
    Set<String> connectionNamed = connectionNamed(live);
    StoredResponse.Builder raw = StoredResponse.builder(req.key, status);
    String ageText = null;
    long declared = -1;
    boolean setCookie = false;
    for (HeaderValues hv : live) {
      if (HttpDuties.isHopByHopOrFraming(hv.getHeaderName())) {
        if (Headers.CONTENT_LENGTH.equals(hv.getHeaderName())) {
          declared = parseLength(hv.getFirst());
        }
        continue;
      }
      String name = hv.getHeaderName().toString();
      String lower = name.toLowerCase(Locale.ROOT);
      if (connectionNamed.contains(lower)) {
        continue;
      }
      if (lower.equals("age")) {
        ageText = hv.getFirst();
        continue;
      }
      if (lower.equals("set-cookie") || lower.equals("set-cookie2")) {
        setCookie = true;
      }
      for (String v : hv) {
        raw.header(name, v);
      }
    }
    StoredResponse rawResponse = raw.build();
    Policy p = Policy.of(rawResponse, s);
    StoredResponse stored = finish(rawResponse, p, req, requestTime, responseTime, ageText, declared, s);
    return new Candidate(stored, p, refusal(req, status, p, setCookie, declared, s));
  }

  /** The stored form of {@code raw}: fields dropped, Date added, variant, tags and times set. */
  private static StoredResponse finish(StoredResponse raw, Policy p, CacheRequest req, Instant requestTime,
      Instant responseTime, String ageText, long declared, CacheSettings s) {
    StoredResponse.Builder b = raw.toBuilder().clearHeaders();
    List<String> tags = new ArrayList<>(2);
    String dateText = null;
    for (Map.Entry<String, String> h : raw.headers()) {
      String lower = h.getKey().toLowerCase(Locale.ROOT);
      if (s.surrogateKeyField() != null && lower.equals(s.surrogateKeyField().toLowerCase(Locale.ROOT))) {
        for (String t : h.getValue().split("[ \t]+")) {
          if (StoredResponseTags.valid(t)) {
            tags.add(t);
          }
        }
        continue;
      }
      if (lower.equals("set-cookie") || lower.equals("set-cookie2") || p.cc.privateFields.contains(lower)
          || p.cc.noCacheFields.contains(lower)) {
        continue;
      }
      if (lower.equals("date") && dateText == null) {
        dateText = h.getValue();
      }
      b.header(h.getKey(), h.getValue());
    }
    if (dateText == null) {
      dateText = HttpDates.format(responseTime);
      b.header("Date", dateText);
    }
    return b.variant(Variants.of(p.vary, req.headers))
        .tags(tags)
        .requestTime(requestTime)
        .responseTime(responseTime)
        .initialAge(Policy.initialAge(requestTime, responseTime, dateText, ageText))
        .bodyLength(declared)
        .build();
  }

  private static String refusal(CacheRequest req, int status, Policy p, boolean setCookie, long declared,
      CacheSettings s) {
    if (status == 206) {
      return "partial";
    }
    if (status == 304) {
      return "not-modified";
    }
    boolean understood = Policy.understood(status);
    if (!understood) {
      return "status";
    }
    if (p.cc.noStore && !p.cc.mustUnderstand) {
      return "no-store";
    }
    if (req.cc.noStore) {
      return "request-no-store";
    }
    if (p.cc.isPrivate && p.cc.privateFields.isEmpty()) {
      return "private";
    }
    if (req.authorization && !(p.cc.isPublic || p.cc.sMaxAge >= 0 || p.cc.mustRevalidate)) {
      return "authorization";
    }
    if (setCookie && !s.storeSetCookie()) {
      return "set-cookie";
    }
    if (p.varyStar()) {
      return "vary-star";
    }
    if (declared > s.maxObjectSize()) {
      return "too-large";
    }
    if (!(p.explicit || p.cc.isPublic || Policy.heuristicStatus(status))) {
      return "no-freshness";
    }
    if (p.lifetime <= 0) {
      // Stale at once. Worth keeping only when the origin asked for it (max-age=0, no-cache, public) and
      // it can be validated or served stale; a plain response that merely has an ETag is not stored
      // (as nginx and Varnish do not), or every request for it would become a revalidation.
      boolean staleUse = p.cc.staleIfError > 0 || p.cc.staleWhileRevalidate > 0 || !s.useStale().isEmpty();
      boolean asked = p.explicit || p.cc.noCache || p.cc.isPublic;
      if (!asked || !(p.hasValidator() || staleUse)) {
        return "no-freshness";
      }
    }
    return null;
  }

  /** Whether the refusal is about this request only (the key's next request may store). */
  static boolean perRequest(String refusal) {
    return "authorization".equals(refusal) || "request-no-store".equals(refusal) || "too-large".equals(refusal);
  }

  /**
   * The stored response freshened with a {@code 304}'s fields (RFC 9111 §3.2, §4.3.4): each field the
   * 304 carries replaces the stored one of that name, except framing and hop-by-hop fields; the times
   * and the corrected initial age come from the validation.
   */
  static StoredResponse refreshed(StoredResponse stored, HeaderMap notModified, Instant requestTime,
      Instant responseTime, CacheSettings s) {
    Set<String> connectionNamed = connectionNamed(notModified);
    Set<String> replaced = new HashSet<>();
    List<Map.Entry<String, String>> added = new ArrayList<>();
    String ageText = null;
    String surrogate = s.surrogateKeyField() == null ? null : s.surrogateKeyField().toLowerCase(Locale.ROOT);
    List<String> tags = null;
    for (HeaderValues hv : notModified) {
      if (HttpDuties.isHopByHopOrFraming(hv.getHeaderName())) {
        continue;
      }
      String name = hv.getHeaderName().toString();
      String lower = name.toLowerCase(Locale.ROOT);
      if (connectionNamed.contains(lower) || lower.equals("set-cookie") || lower.equals("set-cookie2")
          || lower.equals("cache-status")) {
        continue;
      }
      if (lower.equals("age")) {
        ageText = hv.getFirst();
        continue;
      }
      if (lower.equals(surrogate)) {
        tags = new ArrayList<>();
        for (String v : hv) {
          for (String t : v.split("[ \t]+")) {
            if (StoredResponseTags.valid(t)) {
              tags.add(t);
            }
          }
        }
        continue;
      }
      replaced.add(lower);
      for (String v : hv) {
        added.add(Map.entry(name, v));
      }
    }
    StoredResponse.Builder b = stored.toBuilder().clearHeaders();
    String dateText = null;
    for (Map.Entry<String, String> h : stored.headers()) {
      String lower = h.getKey().toLowerCase(Locale.ROOT);
      if (!replaced.contains(lower) && !lower.equals("date")) {
        b.header(h.getKey(), h.getValue());
      }
    }
    for (Map.Entry<String, String> h : added) {
      if (h.getKey().equalsIgnoreCase("date")) {
        dateText = h.getValue();
      }
      b.header(h.getKey(), h.getValue());
    }
    if (dateText == null) {
      dateText = HttpDates.format(responseTime);
      b.header("Date", dateText);
    }
    if (tags != null) {
      b = retag(b, tags);
    }
    StoredResponse merged = b.requestTime(requestTime).responseTime(responseTime)
        .initialAge(Policy.initialAge(requestTime, responseTime, dateText, ageText)).build();
    // a 304 may narrow what may be kept (a qualified private or no-cache)
    Policy p = Policy.of(merged, s);
    if (p.cc.privateFields.isEmpty() && p.cc.noCacheFields.isEmpty()) {
      return merged;
    }
    StoredResponse.Builder nb = merged.toBuilder().clearHeaders();
    for (Map.Entry<String, String> h : merged.headers()) {
      String lower = h.getKey().toLowerCase(Locale.ROOT);
      if (!p.cc.privateFields.contains(lower) && !p.cc.noCacheFields.contains(lower)) {
        nb.header(h.getKey(), h.getValue());
      }
    }
    return nb.build();
  }

  private static StoredResponse.Builder retag(StoredResponse.Builder b, List<String> tags) {
    StoredResponse current = b.build();
    StoredResponse.Builder nb = StoredResponse.builder(current.key(), current.status()).variant(current.variant())
        .requestTime(current.requestTime()).responseTime(current.responseTime()).initialAge(current.initialAge())
        .bodyLength(current.bodyLength()).storageId(current.storageId()).tags(tags);
    for (Map.Entry<String, String> h : current.headers()) {
      nb.header(h.getKey(), h.getValue());
    }
    return nb;
  }

  /** The lower-case names a Connection field lists (they are hop-by-hop too). */
  static Set<String> connectionNamed(HeaderMap headers) {
    HeaderValues connection = headers.get(Headers.CONNECTION);
    if (connection == null) {
      return Set.of();
    }
    Set<String> out = new HashSet<>();
    for (String v : connection) {
      for (String item : v.split(",")) {
        String t = item.trim().toLowerCase(Locale.ROOT);
        if (!t.isEmpty()) {
          out.add(t);
        }
      }
    }
    return out;
  }

  private static long parseLength(String v) {
    long n = CacheControl.delta(v == null ? null : v.trim());
    return n >= CacheControl.MAX_DELTA ? Long.MAX_VALUE : n;
  }
}
