package dev.gatehouse.proxy.auth;

import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(30)
class ApiKeyAndBasicAuthTest {
  @RegisterExtension
  static WireMockExtension upstream = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

  private final HttpClient client = Clients.http();
  private final List<String> principals = new CopyOnWriteArrayList<>();
  private final Filter record = (ex, chain) -> {
    principals.add(Principal.of(ex).map(p -> p.scheme() + ":" + p.name()).orElse("-")
        + "/" + ex.attribute(AccessLog.USER).orElse("-"));
    return chain.proceed();
  };

  @BeforeEach
  void stubs() {
    upstream.stubFor(get(anyUrl()).willReturn(ok("upstream")));
  }

  private ProxyServer proxy(Filter auth) {
    return TestProxy.builder().upstream(upstream.baseUrl()).addFilter(auth).addFilter(record).build().start();
  }

  private HttpResponse<String> send(ProxyServer proxy, String pathAndQuery, String... headers) throws Exception {
    HttpRequest.Builder b = Clients.request(proxy, pathAndQuery).GET();
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aKnownKeyInTheHeaderPassesAsItsConsumerAndTheKeyStaysBehind() throws Exception {
    // sha256("partner-secret")
    String partnerHash = java.util.HexFormat.of().formatHex(Secrets.sha256("partner-secret"));
    ApiKeyAuth auth = ApiKeyAuth.builder().consumer("mobile", "mobile-secret").consumerKeyHash("partner", partnerHash).build();
    try (ProxyServer proxy = proxy(auth)) {
      assertThat(send(proxy, "/a", "X-Api-Key", "mobile-secret").statusCode()).isEqualTo(200);
      assertThat(send(proxy, "/b", "X-Api-Key", "partner-secret").statusCode()).isEqualTo(200);
      assertThat(principals).containsExactly("api-key:mobile/mobile", "api-key:partner/partner");
      upstream.verify(getRequestedFor(urlEqualTo("/a")).withHeader("X-Api-Key", absent()));
    }
  }

  @Test
  void missingWrongAndDoubleKeysAreRefusedWithoutContactingTheUpstream() throws Exception {
    try (ProxyServer proxy = proxy(ApiKeyAuth.builder().consumer("mobile", "mobile-secret").build())) {
      HttpResponse<String> missing = send(proxy, "/a");
      assertThat(missing.statusCode()).isEqualTo(401);
      assertThat(missing.body()).isEqualTo("Unauthorized: an API key is required\n");
      assertThat(missing.headers().firstValue("WWW-Authenticate")).hasValue("ApiKey realm=\"gatehouse\", header=\"X-Api-Key\"");
      HttpResponse<String> wrong = send(proxy, "/a", "X-Api-Key", "mobile-secreT");
      assertThat(wrong.statusCode()).isEqualTo(401);
      assertThat(wrong.body()).isEqualTo("Unauthorized: invalid API key\n");
      assertThat(send(proxy, "/a", "X-Api-Key", "").statusCode()).isEqualTo(401);
      HttpResponse<String> two = client.send(Clients.request(proxy, "/a").header("X-Api-Key", "mobile-secret")
          .header("X-Api-Key", "other").GET().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(two.statusCode()).isEqualTo(400);
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void aKeyInTheQueryIsReadAndRemovedLeavingTheOtherParametersAsTheyWere() throws Exception {
    ApiKeyAuth auth = ApiKeyAuth.builder().header(null).queryParameter("apikey").consumer("cli", "k/1+2").build();
    try (ProxyServer proxy = proxy(auth)) {
      assertThat(send(proxy, "/search?q=a%20b&apikey=k%2F1%2B2&page=2").statusCode()).isEqualTo(200);
      upstream.verify(getRequestedFor(urlEqualTo("/search?q=a%20b&page=2")));
      assertThat(send(proxy, "/search?apikey=nope").statusCode()).isEqualTo(401);
    }
  }

  @Test
  void anAsyncLookupDecidesAndItsFailureIs503() throws Exception {
    ApiKeyLookup lookup = (key, ex) -> {
      if (key.equals("boom")) {
        return CompletableFuture.failedFuture(new IllegalStateException("database down"));
      }
      return CompletableFuture.supplyAsync(() -> key.equals("gold-key")
          ? Optional.of(Principal.of("acme", "api-key", Map.of("plan", "gold"))) : Optional.empty(), ex.blockingExecutor());
    };
    try (ProxyServer proxy = proxy(ApiKeyAuth.builder().lookup(lookup).build())) {
      assertThat(send(proxy, "/a", "X-Api-Key", "gold-key").statusCode()).isEqualTo(200);
      assertThat(principals).containsExactly("api-key:acme/acme");
      assertThat(send(proxy, "/a", "X-Api-Key", "tin-key").statusCode()).isEqualTo(401);
      assertThat(send(proxy, "/a", "X-Api-Key", "boom").statusCode()).isEqualTo(503);
      upstream.verify(1, anyRequestedFor(anyUrl()));
    }
  }

  static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void basicAuthChecksCredentialsAndRemovesThem() throws Exception {
    BasicAuth auth = BasicAuth.of("admin area", PasswordAuthenticator.users(Map.of("ops", "s3cret:with colon", "jürgen", "pässword")));
    try (ProxyServer proxy = proxy(auth)) {
      assertThat(send(proxy, "/x", "Authorization", basic("ops", "s3cret:with colon")).statusCode()).isEqualTo(200);
      assertThat(send(proxy, "/x", "Authorization", basic("jürgen", "pässword")).statusCode()).isEqualTo(200);
      assertThat(principals).containsExactly("basic:ops/ops", "basic:jürgen/jürgen");
      upstream.verify(2, getRequestedFor(urlEqualTo("/x")).withHeader("Authorization", absent()));

      for (String bad : new String[] {basic("ops", "wrong"), basic("nobody", "s3cret:with colon"), "Basic !!!", "Bearer abc",
          "Basic " + Base64.getEncoder().encodeToString("no-colon".getBytes())}) {
        HttpResponse<String> r = send(proxy, "/x", "Authorization", bad);
        assertThat(r.statusCode()).as(bad).isEqualTo(401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Basic realm=\"admin area\", charset=\"UTF-8\"");
      }
      assertThat(send(proxy, "/x").statusCode()).isEqualTo(401);
      upstream.verify(2, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void basicAuthCanForwardAuthorizationAndAFailingCheckIs503() throws Exception {
    PasswordAuthenticator flaky = (u, p, ex) -> u.equals("down") ? CompletableFuture.failedFuture(new RuntimeException("ldap"))
        : CompletableFuture.completedFuture(true);
    try (ProxyServer proxy = proxy(BasicAuth.of("x", flaky).forwardAuthorization())) {
      assertThat(send(proxy, "/x", "Authorization", basic("ok", "pw")).statusCode()).isEqualTo(200);
      upstream.verify(getRequestedFor(urlEqualTo("/x")).withHeader("Authorization", equalTo(basic("ok", "pw"))));
      assertThat(send(proxy, "/x", "Authorization", basic("down", "pw")).statusCode()).isEqualTo(503);
    }
  }

  @Test
  void builderMisuseFailsWithClearMessages() {
    assertThatThrownBy(() -> ApiKeyAuth.builder().build()).hasMessage("keys: none (expected: consumer, consumerKeyHash or lookup)");
    assertThatThrownBy(() -> ApiKeyAuth.builder().header(null).consumer("a", "k").build())
        .hasMessage("header: null and queryParameter: null (expected: at least one place to read the key)");
    assertThatThrownBy(() -> ApiKeyAuth.builder().consumer("a", "k").lookup((k, e) -> null).build())
        .hasMessage("keys: fixed consumers and a lookup (expected: one or the other)");
    assertThatThrownBy(() -> ApiKeyAuth.builder().consumer("a", "k").consumer("b", "k"))
        .hasMessage("consumer: b has the key of another consumer (expected: one key each)");
    assertThatThrownBy(() -> ApiKeyAuth.builder().consumerKeyHash("a", "abc"))
        .hasMessage("consumerKeyHash: a \"abc\" (expected: 64 hex digits)");
    assertThatThrownBy(() -> ApiKeyAuth.builder().header("X Key")).hasMessage("header: \"X Key\" (expected: a header name such as X-Api-Key)");
    assertThatThrownBy(() -> BasicAuth.of("a\"b", (u, p, e) -> null))
        .hasMessage("realm: \"a\"b\" (expected: printable ASCII without quotes or backslashes)");
    assertThatThrownBy(() -> PasswordAuthenticator.users(Map.of("a:b", "x")))
        .hasMessage("users: \"a:b\" (expected: a non-empty user name without ':')");
  }
}
