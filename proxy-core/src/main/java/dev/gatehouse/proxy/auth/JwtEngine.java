package dev.gatehouse.proxy.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.text.ParseException;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JWT filter's work, with nimbus-jose-jwt; loaded only once the library is known to be present.
 *
 * <p>Why one class of this size: the verification steps (RFC 7519, RFC 8725) run in one order over one token,
 * so they are read together.
 */
final class JwtEngine implements Filter {
  private static final Logger log = LoggerFactory.getLogger(JwtEngine.class);
  private static final int MAX_TOKEN_LENGTH = 16 * 1024;

  private final JwtAuth.Settings s;
  private final Set<JWSAlgorithm> algorithms;
  private final KeySet staticKeys;
  private final RemoteJwks remote;
  private final VerifiedTokenCache cache;
  private final InstantSource clock;
  private final String plainChallenge;
  /** Each connection's last granted Authorization value (with the verified-token cache only). */
  private final ConnectionGrants grants;

  JwtEngine(JwtAuth.Settings s) {
    this.s = s;
    this.clock = s.clock;
    Set<JWSAlgorithm> algs = new java.util.LinkedHashSet<>();
    for (String a : s.algorithms) {
      algs.add(JWSAlgorithm.parse(a));
    }
    this.algorithms = Set.copyOf(algs);
    this.cache = s.cacheSize > 0 ? new VerifiedTokenCache(s.cacheSize, clock) : null;
    this.grants = cache != null ? new ConnectionGrants() : null;
    this.plainChallenge = "Bearer realm=" + Challenges.quote(s.realm);
    if (s.jwksUri != null) {
      this.staticKeys = null;
      this.remote = new RemoteJwks(s.jwksUri, s.httpClient, s.fetchTimeout, s.refreshInterval, s.minRefreshInterval,
          clock, () -> {
            if (cache != null) {
              cache.clear();
            }
          });
    } else {
      this.remote = null;
      this.staticKeys = staticKeys(s);
    }
    warmUp();
    if (remote != null) {
      remote.refresh(); // fetch the keys now, in the background: the first request need not wait for them
    }
  }

  /**
   * Loads the classes the first request needs (JSON parsing, the verifiers, the cache) now, so that
   * the first request does not hold its I/O thread for tens of milliseconds of class loading.
   */
  private void warmUp() {
    try {
      SignedJWT jwt = SignedJWT.parse("eyJhbGciOiJSUzI1NiIsImtpZCI6InciLCJ0eXAiOiJKV1QifQ"
          + ".eyJzdWIiOiJ3IiwiYXVkIjpbImEiXSwiZXhwIjoxfQ.c2lnbmF0dXJl");
      jwt.getJWTClaimsSet().toJSONObject();
      if (staticKeys != null) {
        for (JWSVerifier v : staticKeys.verifiersFor(null, JWSAlgorithm.RS256)) {
          jwt.verify(v);
        }
      }
      if (cache != null) {
        cache.get(VerifiedTokenCache.keyOf("warm-up"));
      }
      fail(401, "invalid_token", "warm-up");
    } catch (ParseException | JOSEException | RuntimeException e) {
      log.debug("warm-up: {}", e.toString());
    }
  }

  private static KeySet staticKeys(JwtAuth.Settings s) {
    List<JWK> keys = new ArrayList<>();
    for (String json : s.jwksDocuments) {
      try {
        keys.addAll(com.nimbusds.jose.jwk.JWKSet.parse(json).getKeys());
      } catch (ParseException e) {
        throw new IllegalArgumentException("jwks: not a JWK Set (expected: {\"keys\": [...]}): " + e.getMessage());
      }
    }
    for (JwtAuth.PemKey pem : s.pemKeys) {
      keys.add(toJwk(pem));
    }
    if (s.hmacSecret != null) {
      keys.add(new OctetSequenceKey.Builder(s.hmacSecret).build());
    }
    KeySet ks = KeySet.of(keys, "static keys");
    if (ks.isEmpty()) {
      throw new IllegalArgumentException("keys: none usable (expected: RSA keys of 2048 bits or more, EC keys on"
          + " P-256, P-384 or P-521, or an HMAC secret of 32 bytes or more)");
    }
    return ks;
  }

  private static JWK toJwk(JwtAuth.PemKey pem) {
    PublicKey key = pem.key;
    if (key instanceof RSAPublicKey) {
      return new RSAKey.Builder((RSAPublicKey) key).keyID(pem.kid).build();
    }
    if (key instanceof ECPublicKey) {
      Curve curve = Curve.forECParameterSpec(((ECPublicKey) key).getParams());
      if (curve == null) {
        throw new IllegalArgumentException("publicKeyPem: an EC key on an unsupported curve (expected: P-256, P-384 or P-521)");
      }
      return new ECKey.Builder(curve, (ECPublicKey) key).keyID(pem.kid).build();
    }
    throw new IllegalArgumentException("publicKeyPem: a " + key.getAlgorithm() + " key (expected: RSA or EC)");
  }

  /** For tests: the number of verified tokens held. */
  long cachedTokens() {
    return cache == null ? 0 : cache.size();
  }

  /** For tests: requests granted from their connection's remembered Authorization value. */
  long connectionGrants() {
    return grants == null ? 0 : grants.hits();
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    HttpHeaders h = exchange.request().headers();
    for (String header : s.claimHeaders) {
      h.remove(header); // never let a client send what only a verified token may say
    }
    List<String> auth = h.getAll("Authorization");
    if (auth.size() > 1) {
      return fail(400, "invalid_request", "more than one Authorization field");
    }
    // the key set now: what was verified under another one no longer counts (and asking starts the periodic
    // refresh when it is due, remembered tokens or not)
    KeySet keys = auth.isEmpty() ? null : remote != null ? remote.current() : staticKeys;
    if (grants != null && keys != null) {
      VerifiedTokenCache.Entry granted = grants.find(exchange, auth.get(0), keys, clock.millis());
      if (granted != null) {
        return grant(exchange, chain, granted, false);
      }
    }
    String token = auth.isEmpty() ? null : bearerToken(auth.get(0));
    if (token == null) {
      if (!s.required) {
        return chain.proceed();
      }
      if (!auth.isEmpty() && isBearer(auth.get(0))) {
        return fail(401, "invalid_token", "malformed token");
      }
      return Challenges.unauthorized(plainChallenge, "Unauthorized: a bearer token is required");
    }
    VerifiedTokenCache.Key key = null;
    if (cache != null) {
      key = VerifiedTokenCache.keyOf(token);
      VerifiedTokenCache.Entry hit = cache.get(key);
      if (hit != null && hit.keys == keys) {
        return grant(exchange, chain, hit);
      }
    }
    SignedJWT jwt;
    try {
      jwt = SignedJWT.parse(token);
    } catch (ParseException | RuntimeException e) {
      return fail(401, "invalid_token", "malformed token");
    }
    JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
    if (alg == null || !algorithms.contains(alg)) {
      return fail(401, "invalid_token", "signature algorithm not allowed");
    }
    return verify(exchange, chain, jwt, key, false);
  }

  private static boolean isBearer(String value) {
    return value.regionMatches(true, 0, "Bearer", 0, 6) && (value.length() == 6 || value.charAt(6) == ' ');
  }

  /** token68 characters (RFC 9110): letters, digits and {@code -._~+/=}. */
  private static final boolean[] TOKEN68 = new boolean[128];

  static {
    for (char c = 'A'; c <= 'Z'; c++) {
      TOKEN68[c] = true;
      TOKEN68[c + ('a' - 'A')] = true;
    }
    for (char c = '0'; c <= '9'; c++) {
      TOKEN68[c] = true;
    }
    for (char c : "-._~+/=".toCharArray()) {
      TOKEN68[c] = true;
    }
  }

  /**
   * The token68 after {@code Bearer }, or null when the field is not a well-formed bearer credential.
   * Runs on every request: one table lookup per character, and no copy but the token itself.
   */
  static String bearerToken(String value) {
    int end = value.length();
    if (!isBearer(value) || end > MAX_TOKEN_LENGTH) {
      return null;
    }
    int start = 6;
    while (start < end && value.charAt(start) <= ' ') {
      start++;
    }
    while (end > start && value.charAt(end - 1) <= ' ') {
      end--;
    }
    if (start == end) {
      return null;
    }
    for (int i = start; i < end; i++) {
      char c = value.charAt(i);
      if (c >= 128 || !TOKEN68[c]) {
        return null;
      }
    }
    return value.substring(start, end);
  }

  private CompletionStage<ProxyResponse> verify(ProxyExchange exchange, Chain chain, SignedJWT jwt,
      VerifiedTokenCache.Key key, boolean keysJustFetched) {
    KeySet ks = remote != null ? remote.current() : staticKeys;
    String kid = jwt.getHeader().getKeyID();
    if (ks == null) {
      return afterFetch(exchange, chain, jwt, key, keysJustFetched);
    }
    List<JWSVerifier> verifiers = ks.verifiersFor(kid, jwt.getHeader().getAlgorithm());
    if (verifiers.isEmpty()) {
      if (remote != null && kid != null && !ks.hasKid(kid) && !keysJustFetched) {
        return afterFetch(exchange, chain, jwt, key, false);
      }
      return fail(401, "invalid_token", kid != null && !ks.hasKid(kid) ? "unknown signing key" : "no key for the algorithm");
    }
    boolean verified = false;
    for (JWSVerifier v : verifiers) {
      try {
        if (jwt.verify(v)) {
          verified = true;
          break;
        }
      } catch (JOSEException | IllegalStateException e) {
        log.debug("verification error: {}", e.getMessage());
      }
    }
    if (!verified) {
      return fail(401, "invalid_token", "bad signature");
    }
    JWTClaimsSet claims;
    try {
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      return fail(401, "invalid_token", "malformed claims");
    }
    return checkClaims(exchange, chain, claims, key, ks);
  }

  /** Waits (boundedly, off the I/O thread) for a key fetch, then verifies again. */
  private CompletionStage<ProxyResponse> afterFetch(ProxyExchange exchange, Chain chain, SignedJWT jwt,
      VerifiedTokenCache.Key key, boolean alreadyWaited) {
    CompletableFuture<KeySet> fetch = alreadyWaited ? null : remote.refresh();
    if (fetch == null) {
      if (remote.current() == null) {
        return keysUnavailable();
      }
      return fail(401, "invalid_token", "unknown signing key");
    }
    return fetch.copy().orTimeout(s.waitTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .handle((ks, error) -> {
          if (error != null && remote.current() == null) {
            return keysUnavailable();
          }
          return verify(exchange, chain, jwt, key, true);
        })
        .thenCompose(stage -> stage);
  }

  private CompletionStage<ProxyResponse> keysUnavailable() {
    ProxyResponse r = ProxyResponse.of(503, "Service Unavailable: the token signing keys cannot be fetched\n");
    r.headers().set("Retry-After", Long.toString(Math.max(1, s.minRefreshInterval.toSeconds())));
    return CompletableFuture.completedFuture(r);
  }

  private CompletionStage<ProxyResponse> checkClaims(ProxyExchange exchange, Chain chain, JWTClaimsSet claims,
      VerifiedTokenCache.Key key, KeySet keys) {
    long now = clock.millis();
    long skew = s.clockSkew.toMillis();
    Date exp = claims.getExpirationTime();
    if (exp == null && s.requireExpiration) {
      return fail(401, "invalid_token", "token has no expiry");
    }
    if (exp != null && now > exp.getTime() + skew) {
      return fail(401, "invalid_token", "token expired");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && now + skew < nbf.getTime()) {
      return fail(401, "invalid_token", "token not yet valid");
    }
    if (!s.issuers.isEmpty() && (claims.getIssuer() == null || !s.issuers.contains(claims.getIssuer()))) {
      return fail(401, "invalid_token", "wrong issuer");
    }
    if (!s.audiences.isEmpty()) {
      List<String> aud = claims.getAudience();
      boolean any = false;
      for (String a : aud) {
        if (s.audiences.contains(a)) {
          any = true;
          break;
        }
      }
      if (!any) {
        return fail(401, "invalid_token", "wrong audience");
      }
    }
    for (String c : s.requiredClaims) {
      if (claims.getClaim(c) == null) {
        return fail(401, "invalid_token", "token lacks claim " + c);
      }
    }
    Object nameClaim = claims.getClaim(s.principalClaim);
    if (!(nameClaim instanceof String) || ((String) nameClaim).isEmpty()) {
      return fail(401, "invalid_token", "token lacks claim " + s.principalClaim);
    }
    if (!s.requiredScopes.isEmpty()) {
      Set<String> granted = scopes(claims);
      if (!granted.containsAll(s.requiredScopes)) {
        ProxyResponse r = ProxyResponse.of(403, "Forbidden: insufficient scope\n");
        r.headers().set("WWW-Authenticate", plainChallenge + ", error=\"insufficient_scope\", error_description="
            + Challenges.quote("insufficient scope") + ", scope=" + Challenges.quote(String.join(" ", s.requiredScopes)));
        return CompletableFuture.completedFuture(r);
      }
    }
    String[] values = new String[s.headerClaims.size()];
    for (int i = 0; i < values.length; i++) {
      String v = headerValue(claims.getClaim(s.headerClaims.get(i)));
      if (v != null && !HeaderValuesParser.isSafeValue(v)) {
        return fail(401, "invalid_token", "claim " + s.headerClaims.get(i) + " cannot be sent as a header");
      }
      values[i] = v;
    }
    Map<String, Object> json = claims.toJSONObject();
    Principal principal = Principal.of((String) nameClaim, "jwt", json);
    VerifiedTokenCache.Entry entry = new VerifiedTokenCache.Entry(principal, values, exp == null ? 0 : exp.getTime(), keys);
    if (cache != null && key != null && exp != null) {
      cache.put(key, entry);
    }
    return grant(exchange, chain, entry);
  }

  private static Set<String> scopes(JWTClaimsSet claims) {
    Set<String> out = new java.util.HashSet<>();
    for (String name : new String[] {"scope", "scp"}) {
      Object v = claims.getClaim(name);
      if (v instanceof String) {
        out.addAll(List.of(((String) v).trim().split("\\s+")));
      } else if (v instanceof Collection) {
        for (Object o : (Collection<?>) v) {
          out.add(String.valueOf(o));
        }
      }
    }
    return out;
  }

  private static String headerValue(Object v) {
    if (v == null) {
      return null;
    }
    if (v instanceof Date) {
      return Long.toString(((Date) v).getTime() / 1000);
    }
    if (v instanceof Collection) {
      List<String> parts = new ArrayList<>();
      for (Object o : (Collection<?>) v) {
        parts.add(String.valueOf(o));
      }
      return String.join(",", parts);
    }
    if (v instanceof Map) {
      return com.nimbusds.jose.util.JSONObjectUtils.toJSONString(castMap(v));
    }
    return String.valueOf(v);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> castMap(Object v) {
    return (Map<String, ?>) v;
  }

  private CompletionStage<ProxyResponse> grant(ProxyExchange exchange, Chain chain, VerifiedTokenCache.Entry e) {
    return grant(exchange, chain, e, true);
  }

  /** Lets the request through with what {@code e} grants; {@code remember}: for the connection's next requests. */
  private CompletionStage<ProxyResponse> grant(ProxyExchange exchange, Chain chain, VerifiedTokenCache.Entry e,
      boolean remember) {
    Challenges.establish(exchange, e.principal);
    HttpHeaders h = exchange.request().headers();
    if (remember && grants != null) {
      grants.remember(exchange, h.get("Authorization").orElse(null), e);
    }
    for (int i = 0; i < e.headers.length; i++) {
      if (e.headers[i] != null) {
        h.set(s.claimHeaders.get(i), e.headers[i]);
      }
    }
    if (!s.forwardAuthorization) {
      h.remove("Authorization");
    }
    return chain.proceed();
  }

  private CompletionStage<ProxyResponse> fail(int status, String error, String description) {
    log.debug("JWT rejected: {}", description);
    ProxyResponse r = ProxyResponse.of(status, (status == 400 ? "Bad Request: " : "Unauthorized: ") + description + "\n");
    r.headers().set("WWW-Authenticate", plainChallenge + ", error=" + Challenges.quote(error)
        + ", error_description=" + Challenges.quote(description));
    return CompletableFuture.completedFuture(r);
  }

  @Override
  public String toString() {
    return "JwtAuth(" + (remote != null ? s.jwksUri : "static keys") + ")";
  }
}
