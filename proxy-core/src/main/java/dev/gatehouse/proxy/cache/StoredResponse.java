package dev.gatehouse.proxy.cache;

import dev.gatehouse.proxy.internal.http1.Http;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What a {@link CacheStore} keeps about one stored response, apart from its body: the key it is stored
 * under, the status and header fields, and the times the cache needs to compute its age. Immutable;
 * built by the cache, persisted and handed back by the store as it is.
 *
 * <p>A URI's responses share one {@linkplain #key() key}; several may be stored at once when the origin
 * varies them by request fields ({@code Vary}), each under its own {@linkplain #variant() variant}.
 * The store gives each committed response a {@linkplain #storageId() storage id} that names its body.
 *
 * <p>Field names are checked to be RFC 9110 tokens and values to contain no CR, LF or NUL, so a corrupt
 * or tampered store can never split a response.
 */
public final class StoredResponse {
  private final String key;
  private final String variant;
  private final int status;
  private final List<Map.Entry<String, String>> headers;
  private final Instant requestTime;
  private final Instant responseTime;
  private final Duration initialAge;
  private final long bodyLength;
  private final Set<String> tags;
  private final String storageId;

  private StoredResponse(Builder b) {
    this.key = b.key;
    this.variant = b.variant;
    this.status = b.status;
    this.headers = Collections.unmodifiableList(new ArrayList<>(b.headers));
    this.requestTime = b.requestTime;
    this.responseTime = b.responseTime;
    this.initialAge = b.initialAge;
    this.bodyLength = b.bodyLength;
    this.tags = Collections.unmodifiableSet(new LinkedHashSet<>(b.tags));
    this.storageId = b.storageId;
  }

  /** A builder for a response stored under {@code key} with {@code status}. */
  public static Builder builder(String key, int status) {
    return new Builder(key, status);
  }

  /** A builder with every value of this response, to change some. */
  public Builder toBuilder() {
    Builder b = new Builder(key, status);
    b.variant = variant;
    b.headers.addAll(headers);
    b.requestTime = requestTime;
    b.responseTime = responseTime;
    b.initialAge = initialAge;
    b.bodyLength = bodyLength;
    b.tags.addAll(tags);
    b.storageId = storageId;
    return b;
  }

  /** The cache key: by default the request's URI, e.g. {@code https://example.com/a?b=1}. */
  public String key() {
    return key;
  }

  /**
   * Which of the key's variants this is: the values of the request fields the response's {@code Vary}
   * names, in a canonical form; empty for a response without {@code Vary}.
   */
  public String variant() {
    return variant;
  }

  /** The status code. */
  public int status() {
    return status;
  }

  /** The header fields as stored, in order, names as received; hop-by-hop fields are never stored. */
  public List<Map.Entry<String, String>> headers() {
    return headers;
  }

  /** The first value of the field {@code name} (case-insensitive), if present. */
  public Optional<String> header(String name) {
    Objects.requireNonNull(name, "name");
    for (Map.Entry<String, String> h : headers) {
      if (h.getKey().equalsIgnoreCase(name)) {
        return Optional.of(h.getValue());
      }
    }
    return Optional.empty();
  }

  /** Every value of the field {@code name} (case-insensitive), in order; empty if absent. */
  public List<String> headerValues(String name) {
    Objects.requireNonNull(name, "name");
    List<String> values = new ArrayList<>(2);
    for (Map.Entry<String, String> h : headers) {
      if (h.getKey().equalsIgnoreCase(name)) {
        values.add(h.getValue());
      }
    }
    return values;
  }

  /** When the request that produced this response was sent upstream (RFC 9111 §4.2.3 {@code request_time}). */
  public Instant requestTime() {
    return requestTime;
  }

  /** When the response was received (RFC 9111 §4.2.3 {@code response_time}). */
  public Instant responseTime() {
    return responseTime;
  }

  /** The response's corrected initial age when it was received (RFC 9111 §4.2.3). */
  public Duration initialAge() {
    return initialAge;
  }

  /** The body's length in bytes; {@code -1} while it is not known (before the store committed it). */
  public long bodyLength() {
    return bodyLength;
  }

  /** The surrogate keys (tags) the origin gave the response, for purging groups of responses. */
  public Set<String> tags() {
    return tags;
  }

  /** The store's name for this response's body; empty until the store committed it. */
  public String storageId() {
    return storageId;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof StoredResponse)) {
      return false;
    }
    StoredResponse r = (StoredResponse) o;
    return status == r.status && bodyLength == r.bodyLength && key.equals(r.key) && variant.equals(r.variant)
        && headers.equals(r.headers) && requestTime.equals(r.requestTime) && responseTime.equals(r.responseTime)
        && initialAge.equals(r.initialAge) && tags.equals(r.tags) && storageId.equals(r.storageId);
  }

  @Override
  public int hashCode() {
    return Objects.hash(key, variant, status, headers, requestTime, responseTime, initialAge, bodyLength, tags, storageId);
  }

  @Override
  public String toString() {
    return "StoredResponse(" + key + (variant.isEmpty() ? "" : " [" + variant.replace('\n', ' ').trim() + "]") + ", "
        + status + ", " + bodyLength + " bytes" + (storageId.isEmpty() ? "" : ", id " + storageId) + ")";
  }

  /** Builds a {@link StoredResponse}; every setter checks its value at once. */
  public static final class Builder {
    private final String key;
    private final int status;
    private String variant = "";
    private final List<Map.Entry<String, String>> headers = new ArrayList<>();
    private Instant requestTime = Instant.EPOCH;
    private Instant responseTime = Instant.EPOCH;
    private Duration initialAge = Duration.ZERO;
    private long bodyLength = -1;
    private final Set<String> tags = new LinkedHashSet<>();
    private String storageId = "";

    private Builder(String key, int status) {
      this.key = Objects.requireNonNull(key, "key");
      if (status < 200 || status > 599) {
        throw new IllegalArgumentException("status: " + status + " (expected: 200-599)");
      }
      this.status = status;
    }

    /**
     * The variant (see {@link StoredResponse#variant()}).
     *
     * @implSpec Defaults to empty.
     */
    public Builder variant(String variant) {
      this.variant = Objects.requireNonNull(variant, "variant");
      return this;
    }

    /** Adds a header field. @throws IllegalArgumentException if the name is not a token or the value has CR, LF or NUL */
    public Builder header(String name, String value) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
      if (!Http.isToken(name)) {
        throw new IllegalArgumentException("header name: \"" + name + "\" (expected: an RFC 9110 token)");
      }
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if (c == '\r' || c == '\n' || c == 0 || c > 0xFF) {
          throw new IllegalArgumentException("header " + name + ": value contains "
              + (c > 0xFF ? "a non-Latin-1 character" : "CR, LF or NUL") + " (expected: visible characters, space and tab)");
        }
      }
      headers.add(Map.entry(name, value));
      return this;
    }

    /** Removes every header field, to set them again. */
    public Builder clearHeaders() {
      headers.clear();
      return this;
    }

    /**
     * When the request was sent upstream.
     *
     * @implSpec Defaults to the epoch.
     */
    public Builder requestTime(Instant time) {
      this.requestTime = Objects.requireNonNull(time, "requestTime");
      return this;
    }

    /**
     * When the response was received.
     *
     * @implSpec Defaults to the epoch.
     */
    public Builder responseTime(Instant time) {
      this.responseTime = Objects.requireNonNull(time, "responseTime");
      return this;
    }

    /**
     * The corrected initial age.
     *
     * @implSpec Defaults to zero.
     */
    public Builder initialAge(Duration age) {
      Objects.requireNonNull(age, "initialAge");
      if (age.isNegative()) {
        throw new IllegalArgumentException("initialAge: " + age + " (expected: >= 0)");
      }
      this.initialAge = age;
      return this;
    }

    /**
     * The body's length, or {@code -1} when not known yet.
     *
     * @implSpec Defaults to -1.
     */
    public Builder bodyLength(long length) {
      if (length < -1) {
        throw new IllegalArgumentException("bodyLength: " + length + " (expected: >= -1)");
      }
      this.bodyLength = length;
      return this;
    }

    /** Adds surrogate keys; each must be non-empty and free of whitespace and control characters. */
    public Builder tags(Iterable<String> tags) {
      Objects.requireNonNull(tags, "tags");
      for (String t : tags) {
        Objects.requireNonNull(t, "tag");
        if (!validTag(t)) {
          throw new IllegalArgumentException("tag: \"" + t + "\" (expected: visible characters without spaces)");
        }
        this.tags.add(t);
      }
      return this;
    }

    /**
     * The store's name for the body.
     *
     * @implSpec Defaults to empty (not committed).
     */
    public Builder storageId(String id) {
      this.storageId = Objects.requireNonNull(id, "storageId");
      return this;
    }

    /** Builds the response. */
    public StoredResponse build() {
      return new StoredResponse(this);
    }

    static boolean validTag(String t) {
      if (t.isEmpty()) {
        return false;
      }
      for (int i = 0; i < t.length(); i++) {
        char c = t.charAt(i);
        if (c <= ' ' || c == 0x7F || c > 0xFF) {
          return false;
        }
      }
      return true;
    }
  }
}
