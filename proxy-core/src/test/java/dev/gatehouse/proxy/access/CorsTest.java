package dev.gatehouse.proxy.access;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(30)
class CorsTest {
  @RegisterExtension
  static WireMockExtension upstream = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

  private final HttpClient client = Clients.http();

  @BeforeEach
  void stubs() {
    upstream.stubFor(any(anyUrl()).willReturn(aResponse().withBody("upstream")
        .withHeader("Access-Control-Allow-Origin", "https://upstream-says.test")));
  }

  private final Cors cors = Cors.builder()
      .allowOrigins("https://app.example.com", "https://*.preview.example.com", "http://localhost:*")
      .allowMethods("GET", "PUT", "DELETE")
      .allowHeaders("Authorization", "Content-Type")
      .exposeHeaders("X-Request-Id", "RateLimit")
      .allowCredentials(true)
      .maxAge(Duration.ofMinutes(10))
      .build();

  private ProxyServer proxy(Cors cors) {
    return TestProxy.builder().upstream(upstream.baseUrl()).addFilter(cors).build().start();
  }

  private HttpResponse<String> preflight(ProxyServer proxy, String origin, String method, String headers) throws Exception {
    HttpRequest.Builder b = Clients.request(proxy, "/api/orders").method("OPTIONS", HttpRequest.BodyPublishers.noBody())
        .header("Origin", origin).header("Access-Control-Request-Method", method);
    if (headers != null) {
      b.header("Access-Control-Request-Headers", headers);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(ProxyServer proxy, String origin) throws Exception {
    HttpRequest.Builder b = Clients.request(proxy, "/api/orders").GET();
    if (origin != null) {
      b.header("Origin", origin);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void anAllowedPreflightIsAnsweredByTheProxy() throws Exception {
    try (ProxyServer proxy = proxy(cors)) {
      for (String origin : new String[] {"https://app.example.com", "https://pr-42.preview.example.com", "http://localhost:5173"}) {
        HttpResponse<String> r = preflight(proxy, origin, "PUT", "content-type, authorization");
        assertThat(r.statusCode()).as(origin).isEqualTo(204);
        assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).hasValue(origin);
        assertThat(r.headers().firstValue("Access-Control-Allow-Credentials")).hasValue("true");
        assertThat(r.headers().firstValue("Access-Control-Allow-Methods")).hasValue("GET, PUT, DELETE");
        assertThat(r.headers().firstValue("Access-Control-Allow-Headers")).hasValue("Authorization, Content-Type");
        assertThat(r.headers().firstValue("Access-Control-Max-Age")).hasValue("600");
        assertThat(r.headers().allValues("Vary")).containsExactly("Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
      }
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void aPreflightFromAnotherOriginOrForAnotherMethodOrHeaderGetsNoCorsFields() throws Exception {
    try (ProxyServer proxy = proxy(cors)) {
      String[][] cases = {
          {"https://evil.test", "PUT", null},
          {"https://app.example.com.evil.test", "GET", null},
          {"https://preview.example.com", "GET", null}, // the pattern needs a label before it
          {"http://app.example.com", "GET", null}, // wrong scheme
          {"https://app.example.com", "PATCH", null},
          {"https://app.example.com", "PUT", "x-secret"},
          {"null", "GET", null},
      };
      for (String[] c : cases) {
        HttpResponse<String> r = preflight(proxy, c[0], c[1], c[2]);
        assertThat(r.statusCode()).as(String.join(" ", c[0], c[1], String.valueOf(c[2]))).isEqualTo(403);
        assertThat(r.headers().map().keySet()).noneMatch(k -> k.toLowerCase().startsWith("access-control-"));
      }
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void aCorsRequestFromAnAllowedOriginGetsItsFieldsReplacingTheUpstreams() throws Exception {
    try (ProxyServer proxy = proxy(cors)) {
      HttpResponse<String> r = get(proxy, "https://app.example.com");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().allValues("Access-Control-Allow-Origin")).containsExactly("https://app.example.com");
      assertThat(r.headers().firstValue("Access-Control-Allow-Credentials")).hasValue("true");
      assertThat(r.headers().firstValue("Access-Control-Expose-Headers")).hasValue("X-Request-Id, RateLimit");
      assertThat(r.headers().allValues("Vary")).containsExactly("Origin");
    }
  }

  @Test
  void aCorsRequestFromAnotherOriginGoesThroughWithoutAnyCorsField() throws Exception {
    try (ProxyServer proxy = proxy(cors)) {
      HttpResponse<String> r = get(proxy, "https://evil.test");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("upstream");
      assertThat(r.headers().map().keySet()).noneMatch(k -> k.toLowerCase().startsWith("access-control-"));
      assertThat(r.headers().allValues("Vary")).containsExactly("Origin");
      upstream.verify(1, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void requestsWithoutOriginAreUntouchedApartFromVary() throws Exception {
    try (ProxyServer proxy = proxy(cors)) {
      HttpResponse<String> r = get(proxy, null);
      assertThat(r.headers().allValues("Access-Control-Allow-Origin")).containsExactly("https://upstream-says.test");
      assertThat(r.headers().allValues("Vary")).containsExactly("Origin");
      HttpResponse<String> options = client.send(Clients.request(proxy, "/api").method("OPTIONS", HttpRequest.BodyPublishers.noBody())
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(options.body()).isEqualTo("upstream"); // not a preflight: forwarded
    }
  }

  @Test
  void anyOriginWithoutCredentialsAnswersStarAndNeedsNoVary() throws Exception {
    Cors open = Cors.builder().allowOrigins("*").allowHeaders("*").build();
    try (ProxyServer proxy = proxy(open)) {
      HttpResponse<String> r = get(proxy, "https://anyone.test");
      assertThat(r.headers().allValues("Access-Control-Allow-Origin")).containsExactly("*");
      assertThat(r.headers().allValues("Vary")).isEmpty();
      HttpResponse<String> p = preflight(proxy, "https://anyone.test", "POST", "X-Custom, x-other");
      assertThat(p.statusCode()).isEqualTo(204);
      assertThat(p.headers().firstValue("Access-Control-Allow-Headers")).hasValue("x-custom, x-other");
      assertThat(p.headers().firstValue("Access-Control-Allow-Credentials")).isEmpty();
    }
  }

  @Test
  void builderMisuseFails() {
    assertThatThrownBy(() -> Cors.builder().build()).hasMessage("allowOrigins: none (expected: at least one origin, pattern or *)");
    assertThatThrownBy(() -> Cors.builder().allowOrigins("*").allowCredentials(true).build())
        .hasMessage("allowOrigins: * with allowCredentials(true) (expected: the origins listed; browsers refuse credentials with any origin)");
    assertThatThrownBy(() -> Cors.builder().allowOrigins("https://app.example.com/"))
        .hasMessage("allowOrigins: \"https://app.example.com/\" (expected: scheme://host[:port] such as https://app.example.com,"
            + " a pattern such as https://*.example.com, or *)");
    assertThatThrownBy(() -> Cors.builder().allowOrigins("https://a.*.example.com"))
        .hasMessage("allowOrigins: \"https://a.*.example.com\" (expected: * only as the first host labels, as in"
            + " https://*.example.com, or as the port)");
    assertThatThrownBy(() -> Cors.builder().maxAge(Duration.ofDays(2))).hasMessage("maxAge: PT48H (expected: 0-24 hours)");
  }
}
