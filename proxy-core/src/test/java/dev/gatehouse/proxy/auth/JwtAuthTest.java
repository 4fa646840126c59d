package dev.gatehouse.proxy.auth;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.util.Base64URL;
import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(30)
class JwtAuthTest {
  @RegisterExtension
  static WireMockExtension upstream = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();
  @RegisterExtension
  static WireMockExtension keyServer = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

  static final Instant T0 = Instant.parse("2027-03-01T12:00:00Z");
  private final AtomicReference<Instant> now = new AtomicReference<>(T0);
  private final InstantSource clock = () -> now.get();
  private final HttpClient client = Clients.http();

  @BeforeEach
  void stubs() {
    upstream.stubFor(get(anyUrl()).willReturn(ok("upstream")));
    keyServer.stubFor(get("/jwks").willReturn(okJson(Tokens.jwks(Tokens.RSA_A, Tokens.EC))));
  }

  private JwtAuth.Builder jwt() {
    return JwtAuth.builder()
        .jwksUri(keyServer.baseUrl() + "/jwks")
        .issuer(Tokens.ISSUER)
        .audience(Tokens.AUDIENCE)
        .clock(clock);
  }

  private ProxyServer proxy(Filter... filters) {
    TestProxy b = TestProxy.builder().upstream(upstream.baseUrl());
    for (Filter f : filters) {
      b.addFilter(f);
    }
    return b.build().start();
  }

  private HttpResponse<String> send(ProxyServer proxy, String token, String... headers) throws Exception {
    HttpRequest.Builder b = Clients.request(proxy, "/orders").GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void assertRejected(HttpResponse<String> r, String description) {
    assertThat(r.statusCode()).as(description).isEqualTo(401);
    assertThat(r.headers().firstValue("WWW-Authenticate")).as(description)
        .hasValue("Bearer realm=\"gatehouse\", error=\"invalid_token\", error_description=\"" + description + "\"");
    assertThat(r.body()).isEqualTo("Unauthorized: " + description + "\n");
  }

  @Test
  void aValidTokenPassesWithItsPrincipalAndClaimHeadersAndWithoutAuthorization() throws Exception {
    AtomicReference<Principal> seen = new AtomicReference<>();
    AtomicReference<String> logUser = new AtomicReference<>();
    Filter after = (ex, chain) -> {
      seen.set(Principal.of(ex).orElse(null));
      logUser.set(ex.attribute(AccessLog.USER).orElse(null));
      return chain.proceed();
    };
    JwtAuth auth = jwt().claimToHeader("sub", "X-User-Id").claimToHeader("roles", "X-Roles").build();
    String token = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).claim("roles", List.of("admin", "ops")).build());
    try (ProxyServer proxy = proxy(auth, after)) {
      HttpResponse<String> r = send(proxy, token, "X-User-Id", "mallory", "X-Roles", "root");

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("upstream");
      upstream.verify(getRequestedFor(urlEqualTo("/orders"))
          .withHeader("X-User-Id", equalTo("alice"))
          .withHeader("X-Roles", equalTo("admin,ops"))
          .withHeader("Authorization", absent()));
      assertThat(upstream.getAllServeEvents().get(0).getRequest().getHeaders().getHeader("X-User-Id").values())
          .containsExactly("alice");
      assertThat(seen.get().name()).isEqualTo("alice");
      assertThat(seen.get().scheme()).isEqualTo("jwt");
      assertThat(seen.get().claims()).containsEntry("iss", Tokens.ISSUER).containsEntry("exp", T0.getEpochSecond() + 3600);
      assertThat(logUser.get()).isEqualTo("alice");
    }
  }

  @Test
  void aMissingTokenGets401WithAPlainChallengeAndNeverReachesTheUpstream() throws Exception {
    try (ProxyServer proxy = proxy(jwt().build())) {
      HttpResponse<String> r = send(proxy, null);
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"gatehouse\"");
      HttpResponse<String> basic = send(proxy, null, "Authorization", "Basic YWxpY2U6c2VjcmV0");
      assertThat(basic.statusCode()).isEqualTo(401);
      assertThat(basic.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"gatehouse\"");
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void badTokensAreRejectedEachWithItsReasonAndNeverReachTheUpstream() throws Exception {
    String valid = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).build());
    String[] parts = valid.split("\\.");
    String tamperedClaims = Base64URL.encode(Tokens.claims(T0).subject("admin").build().toString()).toString();
    String tampered = parts[0] + "." + tamperedClaims + "." + parts[2];
    // the classic confusion attack: HS256 "signed" with the RSA public key's bytes as the secret
    byte[] publicKeyBytes = Tokens.RSA_A.toRSAPublicKey().getEncoded();
    String confused = Tokens.sign(new OctetSequenceKey.Builder(publicKeyBytes).keyID("key-a").build(), JWSAlgorithm.HS256,
        Tokens.claims(T0).build());
    String unsigned = Base64URL.encode("{\"alg\":\"none\"}") + "." + parts[1] + ".";
    try (ProxyServer proxy = proxy(jwt().build())) {
      assertRejected(send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0.minusSeconds(7200)).build())), "token expired");
      assertRejected(send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0.plusSeconds(600)).build())), "token not yet valid");
      assertRejected(send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).audience("billing").build())), "wrong audience");
      assertRejected(send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).issuer("https://evil.test").build())), "wrong issuer");
      assertRejected(send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).expirationTime(null).build())), "token has no expiry");
      assertRejected(send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).subject(null).build())), "token lacks claim sub");
      assertRejected(send(proxy, tampered), "bad signature");
      assertRejected(send(proxy, confused), "signature algorithm not allowed");
      assertRejected(send(proxy, unsigned), "malformed token");
      assertRejected(send(proxy, "not-a-jwt"), "malformed token");
      assertRejected(send(proxy, Tokens.sign(Tokens.RSA_A, JWSAlgorithm.RS256, Tokens.claims(T0).build(),
          h -> h.keyID("key-z"))), "unknown signing key");
      assertRejected(send(proxy, Tokens.rs256(Tokens.RSA_B, Tokens.claims(T0).build())), "unknown signing key");
      assertRejected(send(proxy, Tokens.sign(Tokens.RSA_A, JWSAlgorithm.RS256, Tokens.claims(T0).build(),
          h -> h.keyID("key-ec"))), "no key for the algorithm");
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void anAlgorithmOutsideTheAllowListIsRejectedEvenWithTheRightKey() throws Exception {
    String es256 = Tokens.sign(Tokens.EC, JWSAlgorithm.ES256, Tokens.claims(T0).build());
    String ps256 = Tokens.sign(Tokens.RSA_A, JWSAlgorithm.PS256, Tokens.claims(T0).build());
    try (ProxyServer proxy = proxy(jwt().algorithms("RS256").build())) {
      assertRejected(send(proxy, es256), "signature algorithm not allowed");
      assertRejected(send(proxy, ps256), "signature algorithm not allowed");
      assertThat(send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).build())).statusCode()).isEqualTo(200);
    }
    try (ProxyServer proxy = proxy(jwt().build())) {
      assertThat(send(proxy, es256).statusCode()).isEqualTo(200);
      assertThat(send(proxy, ps256).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void clockSkewIsAllowedAroundExpAndNbfOnTheInjectedClock() throws Exception {
    String token = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).build()); // nbf T0, exp T0+1h
    JwtAuth auth = jwt().clockSkew(java.time.Duration.ofSeconds(30)).verifiedTokenCacheSize(0).build();
    try (ProxyServer proxy = proxy(auth)) {
      now.set(T0.minusSeconds(20));
      assertThat(send(proxy, token).statusCode()).isEqualTo(200);
      now.set(T0.minusSeconds(40));
      assertRejected(send(proxy, token), "token not yet valid");
      now.set(T0.plusSeconds(3600 + 20));
      assertThat(send(proxy, token).statusCode()).isEqualTo(200);
      now.set(T0.plusSeconds(3600 + 40));
      assertRejected(send(proxy, token), "token expired");
    }
  }

  @Test
  void theVerifiedTokenCacheNeverServesATokenPastItsExp() throws Exception {
    String token = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).expirationTime(Date.from(T0.plusSeconds(10))).build());
    JwtAuth auth = jwt().clockSkew(java.time.Duration.ZERO).build();
    try (ProxyServer proxy = proxy(auth)) {
      assertThat(send(proxy, token).statusCode()).isEqualTo(200);
      assertThat(send(proxy, token).statusCode()).isEqualTo(200);
      assertThat(auth.cachedTokens()).isEqualTo(1);
      now.set(T0.plusSeconds(11));
      assertRejected(send(proxy, token), "token expired");
      assertThat(auth.cachedTokens()).isZero();
    }
  }

  /** A GET of /orders on {@code c}, a keep-alive connection, with {@code token}. */
  private static RawHttp.Response getOrders(RawHttp c, String token) throws Exception {
    return c.send("GET /orders HTTP/1.1\r\nHost: proxy.test\r\nAuthorization: Bearer " + token + "\r\n\r\n")
        .readResponse();
  }

  @Test
  void aConnectionsRememberedGrantCountsOnlyForTheSameTokenAndUntilItsExp() throws Exception {
    String token = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).expirationTime(Date.from(T0.plusSeconds(10))).build());
    String forged = Tokens.rs256(Tokens.rsa("key-a"), Tokens.claims(T0).build()); // the right kid, another key
    JwtAuth auth = jwt().clockSkew(java.time.Duration.ZERO).build();
    try (ProxyServer proxy = proxy(auth)) {
      // on another connection first: the keys are fetched (a request that waits for them goes on off the
      // I/O thread, where nothing is remembered)
      assertThat(send(proxy, token).statusCode()).isEqualTo(200);
      try (RawHttp c = RawHttp.connect(proxy.port())) {
        assertThat(getOrders(c, token).status).isEqualTo(200);
        assertThat(getOrders(c, token).status).isEqualTo(200);
        assertThat(auth.connectionGrants()).as("the second request was recognised").isEqualTo(1);

        RawHttp.Response r = getOrders(c, forged);
        assertThat(r.status).as("another token on the same connection is verified on its own").isEqualTo(401);
        assertThat(r.header("WWW-Authenticate")).contains("bad signature");
        assertThat(getOrders(c, token).status).isEqualTo(200);

        now.set(T0.plusSeconds(11));
        r = getOrders(c, token);
        assertThat(r.status).isEqualTo(401);
        assertThat(r.header("WWW-Authenticate")).contains("token expired");
        upstream.verify(4, getRequestedFor(urlEqualTo("/orders")));
      }
    }
  }

  @Test
  void aGrantRememberedByOneJwtFilterNeverCountsForAnother() throws Exception {
    String token = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).build()); // for orders-api only
    JwtAuth orders = jwt().forwardAuthorization(true).build();
    JwtAuth billing = JwtAuth.builder().jwksUri(keyServer.baseUrl() + "/jwks").issuer(Tokens.ISSUER)
        .audience("billing-api").clock(clock).build();
    try (ProxyServer proxy = proxy(orders, billing)) {
      assertThat(send(proxy, token).statusCode()).as("both filters' keys are fetched").isEqualTo(401);
      try (RawHttp c = RawHttp.connect(proxy.port())) {
        for (int i = 0; i < 2; i++) {
          RawHttp.Response r = getOrders(c, token);
          assertThat(r.status).isEqualTo(401);
          assertThat(r.header("WWW-Authenticate")).contains("wrong audience");
        }
      }
      assertThat(orders.connectionGrants()).isEqualTo(1);
      assertThat(billing.connectionGrants()).isZero();
      upstream.verify(0, getRequestedFor(urlEqualTo("/orders")));
    }
  }

  @Test
  void theVerifiedTokenCacheIsBounded() throws Exception {
    JwtAuth auth = jwt().verifiedTokenCacheSize(5).build();
    try (ProxyServer proxy = proxy(auth)) {
      for (int i = 0; i < 20; i++) {
        String token = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).jwtID("t" + i).build());
        assertThat(send(proxy, token).statusCode()).isEqualTo(200);
      }
      assertThat(auth.cachedTokens()).isLessThanOrEqualTo(5);
    }
  }

  @Test
  void aNewKeyIdIsFetchedOnceAndTheRefetchIsRateLimited() throws Exception {
    JwtAuth auth = jwt().jwksMinRefreshInterval(java.time.Duration.ofSeconds(30)).build();
    String tokenA = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).build());
    String tokenB = Tokens.rs256(Tokens.RSA_B, Tokens.claims(T0).build());
    try (ProxyServer proxy = proxy(auth)) {
      assertThat(send(proxy, tokenA).statusCode()).isEqualTo(200);
      keyServer.verify(1, getRequestedFor(urlEqualTo("/jwks")));

      // the issuer rotates: key-b appears; within the minimum interval a token with key-b is refused
      keyServer.stubFor(get("/jwks").willReturn(okJson(Tokens.jwks(Tokens.RSA_A, Tokens.RSA_B))));
      now.set(T0.plusSeconds(5));
      assertRejected(send(proxy, tokenB), "unknown signing key");
      keyServer.verify(1, getRequestedFor(urlEqualTo("/jwks")));

      // after it, the unknown kid triggers one fetch and the token passes
      now.set(T0.plusSeconds(31));
      assertThat(send(proxy, tokenB).statusCode()).isEqualTo(200);
      keyServer.verify(2, getRequestedFor(urlEqualTo("/jwks")));

      // a flood of forged key ids does not reach the key server
      for (int i = 0; i < 10; i++) {
        assertRejected(send(proxy, Tokens.sign(Tokens.RSA_A, JWSAlgorithm.RS256, Tokens.claims(T0).build(),
            h -> h.keyID("forged"))), "unknown signing key");
      }
      keyServer.verify(2, getRequestedFor(urlEqualTo("/jwks")));

      // the issuer retires key-a: the next periodic refresh drops it, cached tokens included
      keyServer.stubFor(get("/jwks").willReturn(okJson(Tokens.jwks(Tokens.RSA_B))));
      now.set(T0.plusSeconds(31 + 601));
      assertThat(send(proxy, tokenA).statusCode()).isEqualTo(200); // cached, but starts the periodic refresh
      HttpResponse<String> r = send(proxy, tokenA);
      for (int i = 0; i < 500 && r.statusCode() == 200; i++) {
        r = send(proxy, tokenA); // until the refresh (in the background) has landed
      }
      assertRejected(r, "unknown signing key");
      keyServer.verify(3, getRequestedFor(urlEqualTo("/jwks")));
      assertThat(send(proxy, tokenB).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aHangingKeyServerGives503QuicklyAndTheIoThreadKeepsServingOtherRequests() throws Exception {
    // a path of its own: a refresh another test's JwtAuth still has on its way cannot count here
    keyServer.stubFor(get("/jwks-hanging").willReturn(okJson(Tokens.jwks(Tokens.RSA_A)).withFixedDelay(20_000)));
    JwtAuth auth = jwt().jwksUri(keyServer.baseUrl() + "/jwks-hanging").jwksWaitTimeout(java.time.Duration.ofMillis(300))
        .jwksFetchTimeout(java.time.Duration.ofSeconds(15)).build();
    Filter onlySecure = (ex, chain) -> ex.request().path().startsWith("/secure") ? auth.filter(ex, chain) : chain.proceed();
    String token = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).build());
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).ioThreads(1).addFilter(onlySecure).build().start()) {
      List<CompletableFuture<HttpResponse<String>>> secure = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        secure.add(client.sendAsync(Clients.request(proxy, "/secure/" + i).header("Authorization", "Bearer " + token).GET()
            .build(), HttpResponse.BodyHandlers.ofString()));
      }
      // while the key server hangs, the single I/O thread still serves requests that need no token
      HttpResponse<String> open = client.send(Clients.get(proxy, "/open"), HttpResponse.BodyHandlers.ofString());
      assertThat(open.statusCode()).isEqualTo(200);
      for (CompletableFuture<HttpResponse<String>> f : secure) {
        HttpResponse<String> r = f.get(); // well before the 20 s the key server takes (@Timeout 30 s)
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.headers().firstValue("Retry-After")).hasValue("30");
      }
      keyServer.verify(1, getRequestedFor(urlEqualTo("/jwks-hanging")));
      upstream.verify(0, getRequestedFor(com.github.tomakehurst.wiremock.client.WireMock.urlMatching("/secure.*")));
    }
  }

  @Test
  void aKeyServerThatFailsGives503UntilItRecovers() throws Exception {
    keyServer.stubFor(get("/jwks").willReturn(aResponse().withStatus(500)));
    JwtAuth auth = jwt().jwksMinRefreshInterval(java.time.Duration.ofSeconds(10)).build();
    String token = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).build());
    try (ProxyServer proxy = proxy(auth)) {
      assertThat(send(proxy, token).statusCode()).isEqualTo(503);
      assertThat(send(proxy, token).statusCode()).isEqualTo(503); // no new fetch within the interval
      keyServer.verify(1, getRequestedFor(urlEqualTo("/jwks")));
      keyServer.stubFor(get("/jwks").willReturn(okJson(Tokens.jwks(Tokens.RSA_A))));
      now.set(T0.plusSeconds(11));
      assertThat(send(proxy, token).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void staticKeysFromPemAndAnHmacSecretWork() throws Exception {
    String pem = "-----BEGIN PUBLIC KEY-----\n"
        + java.util.Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(Tokens.RSA_B.toRSAPublicKey().getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
    byte[] secret = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    JwtAuth auth = JwtAuth.builder().publicKeyPem(pem).hmacSecret(secret).audience(Tokens.AUDIENCE).clock(clock).build();
    try (ProxyServer proxy = proxy(auth)) {
      assertThat(send(proxy, Tokens.rs256(Tokens.RSA_B, Tokens.claims(T0).build())).statusCode()).isEqualTo(200);
      String hs = Tokens.sign(new OctetSequenceKey.Builder(secret).keyID("shared").build(), JWSAlgorithm.HS256,
          Tokens.claims(T0).build());
      assertThat(send(proxy, hs).statusCode()).isEqualTo(200);
      assertRejected(send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).build())), "bad signature");
    }
  }

  @Test
  void theBenchmarkTokenIsAcceptedWithTheBenchmarkKeys() throws Exception {
    Path jwks = Path.of(getClass().getResource("/gateway/bench-jwks.json").toURI());
    String token = Files.readString(Path.of(getClass().getResource("/gateway/bench-token.txt").toURI())).trim();
    JwtAuth auth = JwtAuth.builder().jwksFile(jwks).issuer("https://issuer.bench.test").audience("gatehouse-bench")
        .clock(() -> Instant.parse("2027-01-01T00:00:00Z")).build();
    try (ProxyServer proxy = proxy(auth)) {
      assertThat(send(proxy, token).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void requiredScopesGive403InsufficientScope() throws Exception {
    try (ProxyServer proxy = proxy(jwt().requiredScopes("orders:write").build())) {
      HttpResponse<String> r = send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).claim("scope", "orders:read").build()));
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"gatehouse\", error=\"insufficient_scope\","
          + " error_description=\"insufficient scope\", scope=\"orders:write\"");
      assertThat(send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).claim("scp", List.of("orders:write")).build()))
          .statusCode()).isEqualTo(200);
      upstream.verify(1, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void optionalAuthenticationLetsAnonymousRequestsThroughButNotBadTokens() throws Exception {
    AtomicReference<Boolean> hadPrincipal = new AtomicReference<>();
    Filter after = (ex, chain) -> {
      hadPrincipal.set(Principal.of(ex).isPresent());
      return chain.proceed();
    };
    try (ProxyServer proxy = proxy(jwt().required(false).claimToHeader("sub", "X-User-Id").build(), after)) {
      assertThat(send(proxy, null, "X-User-Id", "mallory").statusCode()).isEqualTo(200);
      assertThat(hadPrincipal.get()).isFalse();
      upstream.verify(getRequestedFor(urlEqualTo("/orders")).withHeader("X-User-Id", absent()));
      assertRejected(send(proxy, Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0.minusSeconds(9000)).build())), "token expired");
    }
  }

  @Test
  void claimsThatCannotBeHeaderValuesAreRefused() throws Exception {
    String token = Tokens.rs256(Tokens.RSA_A, Tokens.claims(T0).claim("team", "a\r\nX-Injected: 1").build());
    try (ProxyServer proxy = proxy(jwt().claimToHeader("team", "X-Team").build())) {
      assertRejected(send(proxy, token), "claim team cannot be sent as a header");
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void builderMisuseFailsWithTheSettingTheValueAndWhatIsExpected() {
    assertThatThrownBy(() -> JwtAuth.builder().algorithms("none"))
        .hasMessage("algorithms: none (expected: signature algorithms such as RS256; never none)");
    assertThatThrownBy(() -> JwtAuth.builder().algorithms("RS1"))
        .hasMessage("algorithms: RS1 (expected: one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, HS256, HS384, HS512)");
    assertThatThrownBy(() -> JwtAuth.builder().jwksUri("ftp://keys.test/jwks"))
        .hasMessage("jwksUri: ftp://keys.test/jwks (expected: an http or https URL)");
    assertThatThrownBy(() -> JwtAuth.builder().hmacSecret(new byte[16]))
        .hasMessage("hmacSecret: 16 bytes (expected: at least 32)");
    assertThatThrownBy(() -> JwtAuth.builder().clockSkew(java.time.Duration.ofMinutes(11)))
        .hasMessage("clockSkew: PT11M (expected: 0-10 minutes)");
    assertThatThrownBy(() -> JwtAuth.builder().claimToHeader("sub", "X User"))
        .hasMessage("claimToHeader: header \"X User\" (expected: a header name such as X-User-Id)");
    assertThatThrownBy(() -> JwtAuth.builder().verifiedTokenCacheSize(-1))
        .hasMessage("verifiedTokenCacheSize: -1 (expected: >= 0)");
    assertThatThrownBy(() -> JwtAuth.builder().publicKeyPem("hello"))
        .hasMessage("publicKeyPem: no PEM block (expected: -----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE-----)");
    assertThatThrownBy(() -> JwtAuth.builder().build())
        .hasMessage("keys: none (expected: jwksUri, jwks, jwksFile, publicKeyPem or hmacSecret)");
    assertThatThrownBy(() -> JwtAuth.builder().jwksUri("https://k.test/jwks").jwks("{\"keys\":[]}").build())
        .hasMessage("keys: jwksUri and static keys (expected: one or the other)");
    assertThatThrownBy(() -> JwtAuth.builder().jwks(Tokens.jwks(Tokens.RSA_A)).algorithms("HS256").build())
        .hasMessage("algorithms: HS256 (expected: with hmacSecret only; HS algorithms never use public keys)");
    assertThatThrownBy(() -> JwtAuth.builder().jwks("{nope").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("jwks: not a JWK Set (expected: {\"keys\": [...]}): ");
    assertThatThrownBy(() -> JwtAuth.builder().jwksFile(Path.of("/nonexistent/jwks.json")).build())
        .hasMessage("jwksFile: /nonexistent/jwks.json (cannot read: NoSuchFileException)");
    assertThatThrownBy(() -> JwtAuth.builder().jwksUri("https://k.test/jwks").jwksMinRefreshInterval(java.time.Duration.ofHours(1)).build())
        .hasMessage("jwksMinRefreshInterval: PT1H (expected: <= jwksRefreshInterval PT10M)");
  }

  @Test
  void aMissingCacheLibraryIsNamedWithTheWayOut() {
    assertThat(dev.gatehouse.proxy.internal.gateway.OptionalLibrary.missing("JwtAuth's verified-token cache",
        "com.github.ben-manes.caffeine:caffeine") + " or verifiedTokenCacheSize(0)")
        .isEqualTo("JwtAuth's verified-token cache needs com.github.ben-manes.caffeine:caffeine on the class path"
            + " (add it as a dependency) or verifiedTokenCacheSize(0)");
    assertThat(Map.of()).isEmpty();
  }
}
