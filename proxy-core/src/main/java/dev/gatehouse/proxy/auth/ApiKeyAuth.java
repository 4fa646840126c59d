package dev.gatehouse.proxy.auth;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyRequest;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requires an API key in a header (by default {@code X-Api-Key}) or a query parameter, and makes its
 * consumer the {@link Principal} (scheme {@code api-key}), as Kong's key-auth does.
 *
 * <pre>{@code
 * ApiKeyAuth keys = ApiKeyAuth.builder()
 *     .consumer("mobile-app", System.getenv("MOBILE_APP_KEY"))       // kept only as a SHA-256
 *     .consumerKeyHash("partner-x", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
 *     .build();
 * }</pre>
 *
 * <p>Keys are either a fixed set, stored only as SHA-256 hashes and compared in constant time, or
 * found by an asynchronous {@link ApiKeyLookup} of yours. A missing key gets 401 {@code an API key is
 * required}, an unknown one 401 {@code invalid API key}, a lookup that fails 503; the upstream is never
 * contacted then. The key is removed from the request before it goes upstream (header or query
 * parameter) unless {@link Builder#forwardKey(boolean)}.
 */
public final class ApiKeyAuth implements Filter {
  private static final Logger log = LoggerFactory.getLogger(ApiKeyAuth.class);
  /** The header read by default. */
  public static final String DEFAULT_HEADER = "X-Api-Key";

  private final String header;
  private final String queryParameter;
  private final Map<Hash, Principal> fixed;
  private final ApiKeyLookup lookup;
  private final boolean forwardKey;
  private final String challenge;

  private ApiKeyAuth(Builder b) {
    this.header = b.header;
    this.queryParameter = b.queryParameter;
    this.fixed = b.lookup == null ? Map.copyOf(b.fixed) : null;
    this.lookup = b.lookup;
    this.forwardKey = b.forwardKey;
    this.challenge = "ApiKey realm=" + Challenges.quote(b.realm)
        + (header != null ? ", header=" + Challenges.quote(header) : "")
        + (queryParameter != null ? ", query=" + Challenges.quote(queryParameter) : "");
  }

  /** A builder; give it keys ({@code consumer}, {@code consumerKeyHash}) or a {@code lookup}. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    ProxyRequest request = exchange.request();
    List<String> presented = new ArrayList<>(1);
    if (header != null) {
      presented.addAll(request.headers().getAll(header));
    }
    if (queryParameter != null) {
      presented.addAll(queryValues(request.query(), queryParameter));
    }
    if (presented.isEmpty()) {
      return Challenges.unauthorized(challenge, "Unauthorized: an API key is required");
    }
    if (presented.size() > 1) {
      return CompletableFuture.completedFuture(ProxyResponse.of(400, "Bad Request: more than one API key\n"));
    }
    String key = presented.get(0);
    if (!forwardKey) {
      if (header != null) {
        request.headers().remove(header);
      }
      if (queryParameter != null) {
        request.query(withoutParameter(request.query(), queryParameter));
      }
    }
    if (fixed != null) {
      Principal p = key.isEmpty() ? null : fixed.get(new Hash(Secrets.sha256(key)));
      return p == null ? invalid() : grant(exchange, chain, p);
    }
    CompletionStage<Optional<Principal>> found;
    try {
      found = lookup.find(key, exchange);
    } catch (RuntimeException e) {
      found = CompletableFuture.failedFuture(e);
    }
    if (found == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("ApiKeyLookup returned null (expected: a CompletionStage)"));
    }
    return found.handle((p, error) -> {
      if (error != null) {
        log.warn("API key lookup failed: {}", error.toString());
        return CompletableFuture.completedFuture(ProxyResponse.of(503, "Service Unavailable: the API key cannot be checked now\n"));
      }
      if (p == null || p.isEmpty()) {
        return invalid();
      }
      return grant(exchange, chain, p.get());
    }).thenCompose(stage -> stage);
  }

  private CompletionStage<ProxyResponse> invalid() {
    return Challenges.unauthorized(challenge + ", error=\"invalid_key\"", "Unauthorized: invalid API key");
  }

  private static CompletionStage<ProxyResponse> grant(ProxyExchange exchange, Chain chain, Principal p) {
    Challenges.establish(exchange, p);
    return chain.proceed();
  }

  /** The decoded values of parameter {@code name} in a raw query. */
  static List<String> queryValues(String rawQuery, String name) {
    List<String> out = new ArrayList<>(1);
    if (rawQuery.isEmpty()) {
      return out;
    }
    for (String pair : rawQuery.split("&")) {
      int eq = pair.indexOf('=');
      String n = decode(eq < 0 ? pair : pair.substring(0, eq));
      if (name.equals(n)) {
        out.add(eq < 0 ? "" : decode(pair.substring(eq + 1)));
      }
    }
    return out;
  }

  /** The raw query without parameter {@code name}; other pairs stay exactly as they were. */
  static String withoutParameter(String rawQuery, String name) {
    if (rawQuery.isEmpty()) {
      return rawQuery;
    }
    StringBuilder sb = new StringBuilder(rawQuery.length());
    for (String pair : rawQuery.split("&", -1)) {
      int eq = pair.indexOf('=');
      if (name.equals(decode(eq < 0 ? pair : pair.substring(0, eq)))) {
        continue;
      }
      if (sb.length() > 0) {
        sb.append('&');
      }
      sb.append(pair);
    }
    return sb.toString();
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s; // a malformed escape: compared as it is
    }
  }

  @Override
  public String toString() {
    return "ApiKeyAuth(" + (header != null ? "header " + header : "") + (queryParameter != null ? " query " + queryParameter : "")
        + (fixed != null ? ", " + fixed.size() + " keys" : ", lookup") + ")";
  }

  /** A SHA-256, compared in constant time. */
  private static final class Hash {
    private final byte[] bytes;

    Hash(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Hash && MessageDigest.isEqual(bytes, ((Hash) o).bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }
  }

  /** Settings of an {@link ApiKeyAuth} filter. */
  public static final class Builder {
    private String header = DEFAULT_HEADER;
    private String queryParameter;
    private final Map<Hash, Principal> fixed = new HashMap<>();
    private ApiKeyLookup lookup;
    private boolean forwardKey;
    private String realm = "gatehouse";

    private Builder() {}

    /**
     * The header carrying the key; {@code null} to read none.
     *
     * @implSpec Defaults to {@value ApiKeyAuth#DEFAULT_HEADER}.
     */
    public Builder header(@Nullable String name) {
      if (name != null && !HeaderValuesParser.isToken(name)) {
        throw new IllegalArgumentException("header: \"" + name + "\" (expected: a header name such as X-Api-Key)");
      }
      this.header = name;
      return this;
    }

    /**
     * A query parameter carrying the key (read after the header); {@code null} for none.
     *
     * @implSpec Defaults to none.
     */
    public Builder queryParameter(@Nullable String name) {
      if (name != null && (name.isEmpty() || !name.matches("[A-Za-z0-9._~-]+"))) {
        throw new IllegalArgumentException("queryParameter: \"" + name + "\" (expected: a name such as apikey)");
      }
      this.queryParameter = name;
      return this;
    }

    /** Adds a consumer and its key; only the key's SHA-256 is kept. */
    public Builder consumer(String name, String key) {
      Objects.requireNonNull(key, "key");
      if (key.isEmpty()) {
        throw new IllegalArgumentException("consumer: " + name + " with an empty key (expected: a key)");
      }
      return add(Principal.of(checkName(name), "api-key"), Secrets.sha256(key), "consumer");
    }

    /** Adds a consumer by the SHA-256 of its key, as 64 hex digits (e.g. {@code sha256sum} of the key). */
    public Builder consumerKeyHash(String name, String sha256Hex) {
      Objects.requireNonNull(sha256Hex, "sha256Hex");
      byte[] hash = Secrets.fromHex(sha256Hex);
      if (hash == null) {
        throw new IllegalArgumentException("consumerKeyHash: " + name + " \"" + sha256Hex + "\" (expected: 64 hex digits)");
      }
      return add(Principal.of(checkName(name), "api-key"), hash, "consumerKeyHash");
    }

    private Builder add(Principal p, byte[] hash, String setting) {
      if (fixed.putIfAbsent(new Hash(hash), p) != null) {
        throw new IllegalArgumentException(setting + ": " + p.name() + " has the key of another consumer (expected: one key each)");
      }
      return this;
    }

    private static String checkName(String name) {
      Objects.requireNonNull(name, "name");
      if (name.isEmpty() || !HeaderValuesParser.isSafeValue(name)) {
        throw new IllegalArgumentException("consumer: \"" + name + "\" (expected: a printable name)");
      }
      return name;
    }

    /** Finds consumers with your own asynchronous lookup instead of a fixed set. */
    public Builder lookup(ApiKeyLookup lookup) {
      this.lookup = Objects.requireNonNull(lookup, "lookup");
      return this;
    }

    /**
     * Whether the key goes upstream.
     *
     * @implSpec Defaults to false: the header or parameter is removed.
     */
    public Builder forwardKey(boolean forward) {
      this.forwardKey = forward;
      return this;
    }

    /**
     * The realm in {@code WWW-Authenticate}.
     *
     * @implSpec Defaults to {@code gatehouse}.
     */
    public Builder realm(String realm) {
      Objects.requireNonNull(realm, "realm");
      if (realm.isEmpty() || !realm.chars().allMatch(c -> c >= 0x20 && c < 0x7F && c != '"' && c != '\\')) {
        throw new IllegalArgumentException("realm: \"" + realm + "\" (expected: printable ASCII without quotes or backslashes)");
      }
      this.realm = realm;
      return this;
    }

    /**
     * Builds the filter.
     *
     * @throws IllegalStateException without keys or a lookup, with both, or without a header and a parameter
     */
    public ApiKeyAuth build() {
      if (header == null && queryParameter == null) {
        throw new IllegalStateException("header: null and queryParameter: null (expected: at least one place to read the key)");
      }
      if (lookup == null && fixed.isEmpty()) {
        throw new IllegalStateException("keys: none (expected: consumer, consumerKeyHash or lookup)");
      }
      if (lookup != null && !fixed.isEmpty()) {
        throw new IllegalStateException("keys: fixed consumers and a lookup (expected: one or the other)");
      }
      return new ApiKeyAuth(this);
    }
  }
}
