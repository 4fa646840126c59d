package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.access.Cors;
import dev.gatehouse.proxy.access.IpAccess;
import dev.gatehouse.proxy.access.RequestLimits;
import dev.gatehouse.proxy.auth.ApiKeyAuth;
import dev.gatehouse.proxy.auth.BasicAuth;
import dev.gatehouse.proxy.auth.JwtAuth;
import dev.gatehouse.proxy.auth.PasswordAuthenticator;
import dev.gatehouse.proxy.compress.Compression;
import dev.gatehouse.proxy.headers.HeaderRules;
import dev.gatehouse.proxy.headers.RequestId;
import dev.gatehouse.proxy.ratelimit.Limit;
import dev.gatehouse.proxy.ratelimit.RateLimit;
import dev.gatehouse.proxy.ratelimit.RateLimitKey;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The gateway filters on routes of a reverse proxy: each route its own policy, the route's name in keys and headers. */
@Timeout(30)
class GatewayRouteTest {
  @RegisterExtension
  static WireMockExtension upstream = WireMockExtension.newInstance()
      .options(wireMockConfig().dynamicPort().gzipDisabled(true)).build();

  static final RSAKey KEY = key();
  static final Instant NOW = Instant.parse("2027-06-01T00:00:00Z");
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .proxy(HttpClient.Builder.NO_PROXY).build();
  private ProxyServer proxy;

  static RSAKey key() {
    try {
      return new RSAKeyGenerator(2048).keyID("k1").generate();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String token(String subject) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").build(),
        new JWTClaimsSet.Builder().subject(subject).issuer("https://issuer.test").audience("orders")
            .expirationTime(Date.from(NOW.plusSeconds(600))).build());
    jwt.sign(new RSASSASigner(KEY));
    return jwt.serialize();
  }

  @BeforeEach
  void start() {
    upstream.stubFor(any(anyUrl()).willReturn(aResponse().withHeader("Content-Type", "application/json")
        .withBody("{\"items\":[" + "{\"id\":1,\"name\":\"widget\"},".repeat(200) + "{}]}")));
    JwtAuth jwt = JwtAuth.builder().jwks(new JWKSet(KEY.toPublicJWK()).toString()).issuer("https://issuer.test")
        .audience("orders").claimToHeader("sub", "X-User").clock(() -> NOW).build();
    RateLimit perUserAndRoute = RateLimit.builder().key(RateLimitKey.route().and(RateLimitKey.principal()))
        .limit(Limit.perMinute(2)).clock(() -> NOW).build();
    HeaderRules rules = HeaderRules.builder()
        .request(r -> r.set("X-Route", "${route}").set("X-Consumer", "${principal}"))
        .response(r -> r.add("X-Served-By", "${route}")).build();
    String uri = upstream.baseUrl();
    proxy = ReverseProxy.builder()
        .addFilter(RequestId.defaults())
        .addFilter(Compression.defaults())
        .addRoute(Route.pathPrefix("/orders").name("orders")
            .addFilter(RequestLimits.builder().allowMethods("GET", "POST").build())
            .addFilter(jwt).addFilter(perUserAndRoute).addFilter(rules).to(uri))
        .addRoute(Route.pathPrefix("/partners").name("partners")
            .addFilter(ApiKeyAuth.builder().consumer("acme", "acme-key").build()).addFilter(perUserAndRoute).addFilter(rules).to(uri))
        .addRoute(Route.pathPrefix("/admin").name("admin")
            .addFilter(IpAccess.allowOnly("127.0.0.0/8"))
            .addFilter(BasicAuth.of("admin", PasswordAuthenticator.users(Map.of("ops", "pw")))).to(uri))
        .addRoute(Route.pathPrefix("/internal").name("internal").addFilter(IpAccess.allowOnly("10.0.0.0/8")).to(uri))
        .addRoute(Route.pathPrefix("/public").name("public")
            .addFilter(Cors.builder().allowOrigins("https://app.example.com").build()).to(uri))
        .build().start();
  }

  @AfterEach
  void stop() {
    proxy.close();
  }

  private HttpResponse<byte[]> send(String method, String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
        .timeout(Duration.ofSeconds(20)).method(method, HttpRequest.BodyPublishers.noBody());
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void aJwtRouteAuthenticatesLimitsPerUserAndRouteAndNamesTheRoute() throws Exception {
    String alice = token("alice");
    assertThat(send("GET", "/orders/1").statusCode()).isEqualTo(401);
    assertThat(send("DELETE", "/orders/1", "Authorization", "Bearer " + alice).statusCode()).isEqualTo(405);
    for (int i = 0; i < 2; i++) {
      HttpResponse<byte[]> ok = send("GET", "/orders/1", "Authorization", "Bearer " + alice);
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(ok.headers().firstValue("X-Served-By")).hasValue("orders");
      assertThat(ok.headers().firstValue("RateLimit")).hasValue("\"2-per-60s\";r=" + (1 - i) + ";t=" + (30 * (i + 1)));
      assertThat(ok.headers().firstValue("X-Request-Id")).isPresent();
    }
    assertThat(send("GET", "/orders/1", "Authorization", "Bearer " + alice).statusCode()).isEqualTo(429);
    assertThat(send("GET", "/orders/1", "Authorization", "Bearer " + token("bob")).statusCode()).isEqualTo(200);
    upstream.verify(3, getRequestedFor(urlEqualTo("/orders/1")).withHeader("X-Route", equalTo("orders"))
        .withHeader("Authorization", absent()));
    upstream.verify(2, getRequestedFor(urlEqualTo("/orders/1")).withHeader("X-User", equalTo("alice"))
        .withHeader("X-Consumer", equalTo("alice")));
  }

  @Test
  void theSameRateLimitOnAnotherRouteCountsApartAndApiKeysBecomeThePrincipal() throws Exception {
    for (int i = 0; i < 2; i++) {
      assertThat(send("GET", "/partners/x", "X-Api-Key", "acme-key").statusCode()).isEqualTo(200);
    }
    assertThat(send("GET", "/partners/x", "X-Api-Key", "acme-key").statusCode()).isEqualTo(429);
    assertThat(send("GET", "/partners/x", "X-Api-Key", "wrong").statusCode()).isEqualTo(401);
    upstream.verify(2, getRequestedFor(urlEqualTo("/partners/x")).withHeader("X-Route", equalTo("partners"))
        .withHeader("X-Consumer", equalTo("acme")).withHeader("X-Api-Key", absent()));
  }

  @Test
  void ipRulesAndBasicAuthGuardTheirRoutesOnly() throws Exception {
    String creds = "Basic " + Base64.getEncoder().encodeToString("ops:pw".getBytes(StandardCharsets.UTF_8));
    assertThat(send("GET", "/admin/stats").statusCode()).isEqualTo(401);
    assertThat(send("GET", "/admin/stats", "Authorization", creds).statusCode()).isEqualTo(200);
    assertThat(send("GET", "/internal/metrics").statusCode()).isEqualTo(403);
    upstream.verify(1, anyRequestedFor(urlPathMatching("/(admin|internal)/.*")));
  }

  @Test
  void corsAndCompressionWorkOnAPublicRoute() throws Exception {
    HttpResponse<byte[]> preflight = send("OPTIONS", "/public/data", "Origin", "https://app.example.com",
        "Access-Control-Request-Method", "GET");
    assertThat(preflight.statusCode()).isEqualTo(204);
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).hasValue("https://app.example.com");
    assertThat(send("OPTIONS", "/public/data", "Origin", "https://evil.test", "Access-Control-Request-Method", "GET")
        .statusCode()).isEqualTo(403);
    upstream.verify(0, anyRequestedFor(anyUrl()));

    HttpResponse<byte[]> r = send("GET", "/public/data", "Origin", "https://app.example.com", "Accept-Encoding", "gzip");
    assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).hasValue("https://app.example.com");
    assertThat(r.headers().firstValue("Content-Encoding")).hasValue("gzip");
    assertThat(r.headers().allValues("Vary")).containsExactlyInAnyOrder("Origin", "Accept-Encoding");
    byte[] body = new GZIPInputStream(new ByteArrayInputStream(r.body())).readAllBytes();
    assertThat(new String(body, StandardCharsets.UTF_8)).startsWith("{\"items\":[{\"id\":1,").endsWith("{}]}");
  }
}
