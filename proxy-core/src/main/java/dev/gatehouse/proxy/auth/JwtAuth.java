package dev.gatehouse.proxy.auth;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import dev.gatehouse.proxy.internal.gateway.OptionalLibrary;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Requires a valid JWT bearer token ({@code Authorization: Bearer <token>}, RFC 6750), verified with
 * {@code com.nimbusds:nimbus-jose-jwt} (an optional dependency: {@link Builder#build()} fails naming it
 * when it is missing).
 *
 * <pre>{@code
 * JwtAuth jwt = JwtAuth.builder()
 *     .jwksUri("https://login.example.com/.well-known/jwks.json")
 *     .issuer("https://login.example.com/")
 *     .audience("orders-api")
 *     .claimToHeader("sub", "X-User-Id")
 *     .build();
 * Route.pathPrefix("/orders").addFilter(jwt).to("http://orders.internal:8080");
 * }</pre>
 *
 * <p><b>Keys.</b> From a JWKS URL, fetched with the JDK's asynchronous HTTP client so that no I/O thread
 * ever waits on it, kept, fetched again every {@link Builder#jwksRefreshInterval} and when a token names
 * a key id ({@code kid}) the set lacks (key rotation) — but never more often than {@link
 * Builder#jwksMinRefreshInterval}, so a flood of forged key ids cannot hammer the key server. A request
 * waits for a fetch at most {@link Builder#jwksWaitTimeout}; with no keys at all it then gets 503. A
 * failed fetch keeps the keys held. Or static keys: a JWK Set document, PEM public keys or certificates,
 * or an HMAC secret.
 *
 * <p><b>What is checked.</b> The signature, with an algorithm from {@link Builder#algorithms} ({@code
 * none} is never accepted) and a key of that algorithm's type (an RSA or EC public key never serves as an
 * HMAC secret, so RS/HS confusion is impossible); {@code exp} (required by default) and {@code nbf} with
 * {@link Builder#clockSkew}, on the {@link Builder#clock}; {@code iss}, {@code aud}, required claims and
 * scopes when configured; the principal claim ({@code sub}) must be a non-empty string.
 *
 * <p><b>Answers.</b> No token: 401 with {@code WWW-Authenticate: Bearer realm="..."}; a bad one: 401 with
 * {@code error="invalid_token"} and a short fixed {@code error_description} ({@code token expired},
 * {@code wrong audience}, ...); missing scopes: 403 {@code insufficient_scope}; never a stack trace, and
 * the upstream is never contacted.
 *
 * <p><b>What passes on.</b> The {@link Principal} (name from {@code sub}, scheme {@code jwt}, every claim)
 * under {@link Principal#ATTRIBUTE} and as the access log's user; configured claims as request headers
 * (headers of those names sent by the client are always removed first); the {@code Authorization}
 * header is removed unless {@link Builder#forwardAuthorization(boolean)}.
 *
 * <p><b>Verified-token cache.</b> A token already verified is recognised by its SHA-256 and not verified
 * again until its {@code exp} (a bounded Caffeine cache, {@code com.github.ben-manes.caffeine:caffeine};
 * {@link Builder#verifiedTokenCacheSize(int) 0} turns it off). A change of the key set empties it. Each
 * client connection also remembers the last {@code Authorization} value this filter granted on it: the
 * same value again on that connection (a keep-alive client sends it with every request) is recognised by
 * a constant-time comparison, under the same rules ({@code exp} on the clock, the same key set), without
 * the hash; the value lives as long as the connection.
 *
 * <p>(This class is long because its builder holds every verification setting, each with its documented
 * default and validation; the verification itself is in a class of its own.)
 */
public final class JwtAuth implements Filter {
  /** Default JWKS refresh interval. */
  public static final Duration DEFAULT_JWKS_REFRESH_INTERVAL = Duration.ofMinutes(10);
  /** Default least time between two JWKS fetches. */
  public static final Duration DEFAULT_JWKS_MIN_REFRESH_INTERVAL = Duration.ofSeconds(30);
  /** Default time a JWKS fetch may take. */
  public static final Duration DEFAULT_JWKS_FETCH_TIMEOUT = Duration.ofSeconds(5);
  /** Default longest wait of a request for a JWKS fetch. */
  public static final Duration DEFAULT_JWKS_WAIT_TIMEOUT = Duration.ofSeconds(2);
  /** Default clock skew allowance for {@code exp} and {@code nbf}. */
  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);
  /** Default number of verified tokens remembered. */
  public static final int DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 10_000;
  /** The algorithms accepted by default (HS256/384/512 are added when an HMAC secret is given). */
  public static final List<String> DEFAULT_ALGORITHMS = List.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
      "ES256", "ES384", "ES512");
  private static final List<String> HMAC_ALGORITHMS = List.of("HS256", "HS384", "HS512");

  private final Filter engine;

  private JwtAuth(Filter engine) {
    this.engine = engine;
  }

  /** A builder; give it keys ({@code jwksUri}, {@code jwks}, {@code jwksFile}, {@code publicKeyPem} or {@code hmacSecret}). */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    return engine.filter(exchange, chain);
  }

  /** For tests: the number of verified tokens remembered now. */
  long cachedTokens() {
    return ((JwtEngine) engine).cachedTokens();
  }

  /** For tests: requests granted from their connection's remembered {@code Authorization} value. */
  long connectionGrants() {
    return ((JwtEngine) engine).connectionGrants();
  }

  @Override
  public String toString() {
    return engine.toString();
  }

  /** A PEM public key with its optional key id. */
  static final class PemKey {
    final String kid;
    final PublicKey key;

    PemKey(String kid, PublicKey key) {
      this.kid = kid;
      this.key = key;
    }
  }

  /** What the builder collected, for the engine. */
  static final class Settings {
    URI jwksUri;
    HttpClient httpClient;
    final List<String> jwksDocuments = new ArrayList<>();
    final List<PemKey> pemKeys = new ArrayList<>();
    byte[] hmacSecret;
    List<String> algorithms;
    Set<String> issuers = new LinkedHashSet<>();
    Set<String> audiences = new LinkedHashSet<>();
    List<String> requiredClaims = new ArrayList<>();
    List<String> requiredScopes = new ArrayList<>();
    List<String> headerClaims = new ArrayList<>();
    List<String> claimHeaders = new ArrayList<>();
    String principalClaim = "sub";
    String realm = "gatehouse";
    boolean required = true;
    boolean requireExpiration = true;
    boolean forwardAuthorization;
    Duration clockSkew = DEFAULT_CLOCK_SKEW;
    Duration refreshInterval = DEFAULT_JWKS_REFRESH_INTERVAL;
    Duration minRefreshInterval = DEFAULT_JWKS_MIN_REFRESH_INTERVAL;
    Duration fetchTimeout = DEFAULT_JWKS_FETCH_TIMEOUT;
    Duration waitTimeout = DEFAULT_JWKS_WAIT_TIMEOUT;
    int cacheSize = DEFAULT_VERIFIED_TOKEN_CACHE_SIZE;
    InstantSource clock = InstantSource.system();

    /** A frozen copy, so that a builder used again does not change a built filter. */
    Settings freeze(List<String> moreJwksDocuments) {
      Settings c = new Settings();
      c.jwksUri = jwksUri;
      c.httpClient = httpClient;
      c.jwksDocuments.addAll(jwksDocuments);
      c.jwksDocuments.addAll(moreJwksDocuments);
      c.pemKeys.addAll(pemKeys);
      c.hmacSecret = hmacSecret == null ? null : hmacSecret.clone();
      c.algorithms = List.copyOf(algorithms);
      c.issuers = Set.copyOf(issuers);
      c.audiences = Set.copyOf(audiences);
      c.requiredClaims = List.copyOf(requiredClaims);
      c.requiredScopes = List.copyOf(requiredScopes);
      c.headerClaims = List.copyOf(headerClaims);
      c.claimHeaders = List.copyOf(claimHeaders);
      c.principalClaim = principalClaim;
      c.realm = realm;
      c.required = required;
      c.requireExpiration = requireExpiration;
      c.forwardAuthorization = forwardAuthorization;
      c.clockSkew = clockSkew;
      c.refreshInterval = refreshInterval;
      c.minRefreshInterval = minRefreshInterval;
      c.fetchTimeout = fetchTimeout;
      c.waitTimeout = waitTimeout;
      c.cacheSize = cacheSize;
      c.clock = clock;
      return c;
    }
  }

  /** Settings of a {@link JwtAuth} filter. */
  public static final class Builder {
    private static final Pattern PEM = Pattern.compile(
        "-----BEGIN (PUBLIC KEY|CERTIFICATE)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
    private final Settings s = new Settings();
    private final List<String> jwksFiles = new ArrayList<>();

    private Builder() {}

    /** Keys from a JWK Set URL ({@code http} or {@code https}), fetched and refreshed asynchronously. */
    public Builder jwksUri(String uri) {
      Objects.requireNonNull(uri, "jwksUri");
      URI u;
      try {
        u = URI.create(uri);
      } catch (IllegalArgumentException e) {
        u = null;
      }
      if (u == null || u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme()))) {
        throw new IllegalArgumentException("jwksUri: " + uri + " (expected: an http or https URL)");
      }
      s.jwksUri = u;
      return this;
    }

    /**
     * The HTTP client for JWKS fetches (e.g. with your trust store).
     *
     * @implSpec Defaults to a JDK client of its own.
     */
    public Builder httpClient(HttpClient client) {
      s.httpClient = Objects.requireNonNull(client, "httpClient");
      return this;
    }

    /** Static keys from a JWK Set document ({@code {"keys": [...]}}), parsed at {@link #build()}. */
    public Builder jwks(String json) {
      s.jwksDocuments.add(Objects.requireNonNull(json, "jwks"));
      return this;
    }

    /** Static keys from a JWK Set file, read once at {@link #build()}. */
    public Builder jwksFile(Path file) {
      Objects.requireNonNull(file, "jwksFile");
      jwksFiles.add(file.toString());
      return this;
    }

    /**
     * A static public key or certificate in PEM ({@code BEGIN PUBLIC KEY} or {@code BEGIN CERTIFICATE};
     * RSA or EC), for tokens without a {@code kid} or any {@code kid}.
     */
    public Builder publicKeyPem(String pem) {
      return publicKeyPem(null, pem);
    }

    /** Like {@link #publicKeyPem(String)}, used only for tokens whose {@code kid} is {@code kid}. */
    public Builder publicKeyPem(String kid, String pem) {
      Objects.requireNonNull(pem, "publicKeyPem");
      Matcher m = PEM.matcher(pem);
      if (!m.find()) {
        throw new IllegalArgumentException("publicKeyPem: no PEM block (expected: -----BEGIN PUBLIC KEY----- or"
            + " -----BEGIN CERTIFICATE-----)");
      }
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(m.group(2));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("publicKeyPem: the PEM block is not valid base64");
      }
      PublicKey key;
      if (m.group(1).equals("CERTIFICATE")) {
        try {
          key = CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der)).getPublicKey();
        } catch (CertificateException e) {
          throw new IllegalArgumentException("publicKeyPem: not an X.509 certificate (" + e.getMessage() + ")");
        }
      } else {
        key = null;
        for (String type : new String[] {"RSA", "EC"}) {
          try {
            key = KeyFactory.getInstance(type).generatePublic(new X509EncodedKeySpec(der));
            break;
          } catch (java.security.GeneralSecurityException e) {
            // try the next type
          }
        }
        if (key == null) {
          throw new IllegalArgumentException("publicKeyPem: not an RSA or EC public key");
        }
      }
      s.pemKeys.add(new PemKey(kid, key));
      return this;
    }

    /** A shared secret for HS256/384/512 tokens, at least 32 bytes (256 bits). */
    public Builder hmacSecret(byte[] secret) {
      Objects.requireNonNull(secret, "hmacSecret");
      if (secret.length < 32) {
        throw new IllegalArgumentException("hmacSecret: " + secret.length + " bytes (expected: at least 32)");
      }
      s.hmacSecret = secret.clone();
      return this;
    }

    /**
     * The signature algorithms accepted ({@code RS256}, {@code ES256}, {@code HS256}, ...); {@code none}
     * never is.
     *
     * @implSpec Defaults to {@link JwtAuth#DEFAULT_ALGORITHMS}, plus HS256/384/512 with an
     * {@link #hmacSecret}.
     */
    public Builder algorithms(String... algorithms) {
      Objects.requireNonNull(algorithms, "algorithms");
      List<String> known = new ArrayList<>(DEFAULT_ALGORITHMS);
      known.addAll(HMAC_ALGORITHMS);
      List<String> list = new ArrayList<>();
      for (String a : algorithms) {
        Objects.requireNonNull(a, "algorithm");
        if (a.equalsIgnoreCase("none")) {
          throw new IllegalArgumentException("algorithms: none (expected: signature algorithms such as RS256; never none)");
        }
        if (!known.contains(a)) {
          throw new IllegalArgumentException("algorithms: " + a + " (expected: one of " + String.join(", ", known) + ")");
        }
        list.add(a);
      }
      if (list.isEmpty()) {
        throw new IllegalArgumentException("algorithms: [] (expected: at least one)");
      }
      s.algorithms = list;
      return this;
    }

    /**
     * The issuers accepted in {@code iss}; adds to the list.
     *
     * @implSpec Defaults to none: {@code iss} is not checked.
     */
    public Builder issuer(String... issuers) {
      Objects.requireNonNull(issuers, "issuer");
      for (String i : issuers) {
        s.issuers.add(Objects.requireNonNull(i, "issuer"));
      }
      return this;
    }

    /**
     * The audiences accepted: {@code aud} must contain at least one; adds to the list.
     *
     * @implSpec Defaults
     * to none: {@code aud} is not checked.
     */
    public Builder audience(String... audiences) {
      Objects.requireNonNull(audiences, "audience");
      for (String a : audiences) {
        s.audiences.add(Objects.requireNonNull(a, "audience"));
      }
      return this;
    }

    /** Claims that must be present; adds to the list. */
    public Builder requiredClaims(String... claims) {
      Objects.requireNonNull(claims, "requiredClaims");
      for (String c : claims) {
        s.requiredClaims.add(claimName("requiredClaims", c));
      }
      return this;
    }

    /**
     * Scopes the token must grant (in {@code scope}, space-separated, or {@code scp}, a list); a token
     * without them gets 403 {@code insufficient_scope}. Adds to the list.
     */
    public Builder requiredScopes(String... scopes) {
      Objects.requireNonNull(scopes, "requiredScopes");
      for (String sc : scopes) {
        Objects.requireNonNull(sc, "scope");
        if (sc.isEmpty() || !sc.chars().allMatch(c -> c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E))) {
          throw new IllegalArgumentException("requiredScopes: \"" + sc + "\" (expected: a scope token such as orders:read)");
        }
        s.requiredScopes.add(sc);
      }
      return this;
    }

    /**
     * Sends the verified claim {@code claim} upstream as header {@code header} (lists comma-joined, times
     * as epoch seconds, objects as JSON). A client's own {@code header} is always removed.
     */
    public Builder claimToHeader(String claim, String header) {
      claimName("claimToHeader", claim);
      Objects.requireNonNull(header, "header");
      if (!HeaderValuesParser.isToken(header)) {
        throw new IllegalArgumentException("claimToHeader: header \"" + header + "\" (expected: a header name such as X-User-Id)");
      }
      s.headerClaims.add(claim);
      s.claimHeaders.add(header);
      return this;
    }

    /**
     * The claim that names the principal.
     *
     * @implSpec Defaults to {@code sub}.
     */
    public Builder principalClaim(String claim) {
      s.principalClaim = claimName("principalClaim", claim);
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
      s.realm = realm;
      return this;
    }

    /**
     * Whether a request without a bearer token is rejected (true) or passes without a principal
     * (false; a token that is present must still be valid).
     *
     * @implSpec Defaults to true.
     */
    public Builder required(boolean required) {
      s.required = required;
      return this;
    }

    /**
     * Whether a token without {@code exp} is rejected.
     *
     * @implSpec Defaults to true.
     */
    public Builder requireExpiration(boolean require) {
      s.requireExpiration = require;
      return this;
    }

    /**
     * Whether the {@code Authorization} header goes upstream.
     *
     * @implSpec Defaults to false: it is removed.
     */
    public Builder forwardAuthorization(boolean forward) {
      s.forwardAuthorization = forward;
      return this;
    }

    /**
     * Allowance for clocks that differ, for {@code exp} and {@code nbf}, 0-10 minutes.
     *
     * @implSpec Defaults to 60 s.
     */
    public Builder clockSkew(Duration skew) {
      Objects.requireNonNull(skew, "clockSkew");
      if (skew.isNegative() || skew.compareTo(Duration.ofMinutes(10)) > 0) {
        throw new IllegalArgumentException("clockSkew: " + skew + " (expected: 0-10 minutes)");
      }
      s.clockSkew = skew;
      return this;
    }

    /**
     * How often a JWKS URL is fetched again.
     *
     * @implSpec Defaults to 10 minutes.
     */
    public Builder jwksRefreshInterval(Duration interval) {
      s.refreshInterval = positive("jwksRefreshInterval", interval);
      return this;
    }

    /**
     * The least time between two JWKS fetches, whatever asks for them (unknown key ids, failures).
     * @implSpec Defaults to 30 s.
     */
    public Builder jwksMinRefreshInterval(Duration interval) {
      Objects.requireNonNull(interval, "jwksMinRefreshInterval");
      if (interval.isNegative()) {
        throw new IllegalArgumentException("jwksMinRefreshInterval: " + interval + " (expected: >= 0)");
      }
      s.minRefreshInterval = interval;
      return this;
    }

    /**
     * Time a JWKS fetch may take before it counts as failed.
     *
     * @implSpec Defaults to 5 s.
     */
    public Builder jwksFetchTimeout(Duration timeout) {
      s.fetchTimeout = positive("jwksFetchTimeout", timeout);
      return this;
    }

    /**
     * Longest time a request waits for a JWKS fetch (the first one, or one for an unknown key id) before
     * it gets 503 (no keys) or 401 (unknown key).
     *
     * @implSpec Defaults to 2 s.
     */
    public Builder jwksWaitTimeout(Duration timeout) {
      s.waitTimeout = positive("jwksWaitTimeout", timeout);
      return this;
    }

    /**
     * How many verified tokens are remembered (so the same token is not verified again until its {@code
     * exp}); 0 turns the cache off.
     *
     * @implSpec Defaults to {@value JwtAuth#DEFAULT_VERIFIED_TOKEN_CACHE_SIZE}.
     */
    public Builder verifiedTokenCacheSize(int tokens) {
      if (tokens < 0) {
        throw new IllegalArgumentException("verifiedTokenCacheSize: " + tokens + " (expected: >= 0)");
      }
      s.cacheSize = tokens;
      return this;
    }

    /**
     * The clock {@code exp} and {@code nbf} are checked against.
     *
     * @implSpec Defaults to the system clock.
     */
    public Builder clock(InstantSource clock) {
      s.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Builds the filter, reading static key files now; a JWKS URL is fetched in the background from now
     * on.
     *
     * @throws IllegalStateException if nimbus-jose-jwt (or, with the verified-token cache, Caffeine) is
     *     missing, or settings conflict
     * @throws IllegalArgumentException if a key file cannot be read or a key set cannot be parsed
     */
    public JwtAuth build() {
      OptionalLibrary.require("JwtAuth", "com.nimbusds.jwt.SignedJWT", "com.nimbusds:nimbus-jose-jwt");
      if (s.cacheSize > 0 && !OptionalLibrary.present("com.github.benmanes.caffeine.cache.Caffeine")) {
        throw new IllegalStateException(OptionalLibrary.missing("JwtAuth's verified-token cache",
            "com.github.ben-manes.caffeine:caffeine") + " or verifiedTokenCacheSize(0)");
      }
      boolean staticKeys = !s.jwksDocuments.isEmpty() || !jwksFiles.isEmpty() || !s.pemKeys.isEmpty() || s.hmacSecret != null;
      if (s.jwksUri == null && !staticKeys) {
        throw new IllegalStateException("keys: none (expected: jwksUri, jwks, jwksFile, publicKeyPem or hmacSecret)");
      }
      if (s.jwksUri != null && staticKeys) {
        throw new IllegalStateException("keys: jwksUri and static keys (expected: one or the other)");
      }
      List<String> algorithms = s.algorithms;
      if (algorithms == null) {
        algorithms = new ArrayList<>(DEFAULT_ALGORITHMS);
        if (s.hmacSecret != null) {
          algorithms.addAll(HMAC_ALGORITHMS);
        }
      } else {
        for (String a : algorithms) {
          if (HMAC_ALGORITHMS.contains(a) && s.hmacSecret == null) {
            throw new IllegalStateException("algorithms: " + a + " (expected: with hmacSecret only; HS algorithms"
                + " never use public keys)");
          }
        }
      }
      if (s.minRefreshInterval.compareTo(s.refreshInterval) > 0) {
        throw new IllegalStateException("jwksMinRefreshInterval: " + s.minRefreshInterval
            + " (expected: <= jwksRefreshInterval " + s.refreshInterval + ")");
      }
      List<String> fileDocuments = new ArrayList<>();
      for (String f : jwksFiles) {
        try {
          fileDocuments.add(Files.readString(Path.of(f), StandardCharsets.UTF_8));
        } catch (IOException e) {
          throw new IllegalArgumentException("jwksFile: " + f + " (cannot read: " + e.getClass().getSimpleName() + ")");
        }
      }
      List<String> chosen = s.algorithms;
      s.algorithms = algorithms;
      Settings frozen = s.freeze(fileDocuments);
      s.algorithms = chosen;
      if (frozen.jwksUri != null && frozen.httpClient == null) {
        frozen.httpClient = HttpClient.newBuilder().connectTimeout(frozen.fetchTimeout)
            .followRedirects(HttpClient.Redirect.NEVER).proxy(HttpClient.Builder.NO_PROXY).build();
      }
      return new JwtAuth(new JwtEngine(frozen));
    }

    private static String claimName(String setting, String claim) {
      Objects.requireNonNull(claim, setting);
      if (claim.isEmpty()) {
        throw new IllegalArgumentException(setting + ": \"\" (expected: a claim name such as sub)");
      }
      return claim;
    }

    private static Duration positive(String name, Duration d) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
      }
      return d;
    }
  }
}
