package dev.gatehouse.proxy.headers;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.matching;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.auth.Principal;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(30)
class HeaderRulesAndRequestIdTest {
  @RegisterExtension
  static WireMockExtension upstream = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();
  private static final String UUID = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

  private final HttpClient client = Clients.http();

  @BeforeEach
  void stubs() {
    upstream.stubFor(get(anyUrl()).willReturn(aResponse().withBody("upstream").withHeader("Server", "app/1.2")
        .withHeader("X-Powered-By", "framework").withHeader("X-Old", "a")));
  }

  private HttpResponse<String> send(ProxyServer proxy, String... headers) throws Exception {
    HttpRequest.Builder b = Clients.request(proxy, "/x").GET();
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void requestAndResponseRulesApplyInOrderWithPlaceholders() throws Exception {
    Filter login = (ex, chain) -> {
      ex.attribute(Principal.ATTRIBUTE, Principal.of("alice", "test"));
      return chain.proceed();
    };
    HeaderRules rules = HeaderRules.builder()
        .request(r -> r.set("X-Client-Ip", "${client_ip}").set("X-Consumer", "${principal}").set("X-Trace", "id=${request_id}")
            .remove("X-Debug").rename("X-Legacy", "X-Modern").add("X-Gateway", "gatehouse").set("X-Route", "${route}"))
        .response(r -> r.remove("Server").remove("X-Powered-By").rename("X-Old", "X-New")
            .setIfAbsent("Cache-Control", "no-store").add("X-Served-By", "gw for ${principal}"))
        .build();
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl())
        .addFilter(RequestId.defaults()).addFilter(login).addFilter(rules).build().start()) {
      HttpResponse<String> r = send(proxy, "X-Debug", "1", "X-Legacy", "t");

      upstream.verify(getRequestedFor(urlEqualTo("/x"))
          .withHeader("X-Client-Ip", equalTo("127.0.0.1"))
          .withHeader("X-Consumer", equalTo("alice"))
          .withHeader("X-Trace", matching("id=" + UUID))
          .withHeader("X-Debug", absent())
          .withHeader("X-Legacy", absent())
          .withHeader("X-Modern", equalTo("t"))
          .withHeader("X-Gateway", equalTo("gatehouse"))
          .withHeader("X-Route", absent())); // no route in a core proxy: a value that renders empty is not set
      assertThat(r.headers().firstValue("Server")).isEmpty();
      assertThat(r.headers().firstValue("X-Powered-By")).isEmpty();
      assertThat(r.headers().firstValue("X-New")).hasValue("a");
      assertThat(r.headers().firstValue("Cache-Control")).hasValue("no-store");
      assertThat(r.headers().firstValue("X-Served-By")).hasValue("gw for alice");
    }
  }

  @Test
  void aClientValueThatCannotBeAHeaderIsNeverSet() throws Exception {
    Filter login = (ex, chain) -> {
      ex.attribute(Principal.ATTRIBUTE, Principal.of("eve\r\nX-Injected: 1", "test"));
      return chain.proceed();
    };
    HeaderRules rules = HeaderRules.builder().request(r -> r.set("X-Consumer", "${principal}")).build();
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(login).addFilter(rules).build().start()) {
      assertThat(send(proxy).statusCode()).isEqualTo(200);
      upstream.verify(getRequestedFor(urlEqualTo("/x")).withHeader("X-Consumer", absent()).withHeader("X-Injected", absent()));
    }
  }

  @Test
  void aRequestIdIsGeneratedOrKeptAndSeenUpstreamInTheResponseAndAsAnAttribute() throws Exception {
    AtomicReference<String> attribute = new AtomicReference<>();
    Filter peek = (ex, chain) -> {
      attribute.set(RequestId.of(ex).orElse(null));
      return chain.proceed();
    };
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(RequestId.defaults()).addFilter(peek)
        .build().start()) {
      HttpResponse<String> fresh = send(proxy);
      String id = fresh.headers().firstValue("X-Request-Id").orElseThrow();
      assertThat(id).matches(UUID);
      assertThat(attribute.get()).isEqualTo(id);
      upstream.verify(getRequestedFor(urlEqualTo("/x")).withHeader("X-Request-Id", equalTo(id)));

      HttpResponse<String> kept = send(proxy, "X-Request-Id", "01HZX3V6Q2K8RJ2M9T0B7W5C4D");
      assertThat(kept.headers().firstValue("X-Request-Id")).hasValue("01HZX3V6Q2K8RJ2M9T0B7W5C4D");

      for (String bad : new String[] {"has space", "x".repeat(129), "quote\"d", "é"}) {
        HttpResponse<String> replaced = send(proxy, "X-Request-Id", bad);
        assertThat(replaced.headers().firstValue("X-Request-Id").orElseThrow()).as(bad).matches(UUID);
      }
    }
  }

  @Test
  void aUserGeneratorsInvalidIdIsNeverSentAnywhere() throws Exception {
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl())
        .addFilter(RequestId.builder().trustIncoming(false).generator(() -> "bad\r\nX-Injected: 1").build()).build().start()) {
      HttpResponse<String> r = send(proxy);
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(r.headers().map()).doesNotContainKey("x-injected");
      upstream.verify(0, getRequestedFor(anyUrl()));
    }
    assertThat(RequestId.valid("a".repeat(128))).isTrue();
    assertThat(RequestId.valid("a".repeat(129))).isFalse();
    assertThat(RequestId.valid("")).isFalse();
    assertThat(RequestId.valid("A-z_0.9:+/=")).isTrue();
    assertThat(RequestId.valid("a b")).isFalse();
    assertThat(RequestId.valid("caf\u00e9")).isFalse();
  }

  @Test
  void refusalsByLaterFiltersCarryTheIdAndIdsDiffer() throws Exception {
    Filter refuse = (ex, chain) -> CompletableFuture.completedFuture(ProxyResponse.of(403, "no"));
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(RequestId.builder().trustIncoming(false).build())
        .addFilter(refuse).build().start()) {
      Set<String> ids = new HashSet<>();
      for (int i = 0; i < 20; i++) {
        HttpResponse<String> r = send(proxy, "X-Request-Id", "client-chosen");
        assertThat(r.statusCode()).isEqualTo(403);
        ids.add(r.headers().firstValue("X-Request-Id").orElseThrow());
      }
      assertThat(ids).hasSize(20).noneMatch(i -> i.equals("client-chosen"));
    }
  }

  @Test
  void builderMisuseFailsAtOnceOrAtBuild() {
    assertThatThrownBy(() -> HeaderRules.builder().request(r -> r.set("X-A", "${nope}")))
        .hasMessage("request.set X-A: unknown placeholder ${nope} (expected: one of ${client_ip}, ${request_id}, ${principal}, ${route})");
    assertThatThrownBy(() -> HeaderRules.builder().response(r -> r.set("X-A", "a\r\nb")))
        .hasMessage("response.set X-A: a value with CR, LF, NUL or other control characters (expected: a field value)");
    assertThatThrownBy(() -> HeaderRules.builder().request(r -> r.remove("Bad Name")))
        .hasMessage("request.remove: \"Bad Name\" (expected: a header name such as X-Client-Ip)");
    assertThatThrownBy(() -> HeaderRules.builder().request(r -> r.add("X-A", "${client_ip")))
        .hasMessage("request.add X-A: \"${client_ip\" has an unclosed ${ (expected: ${name})");
    assertThatThrownBy(() -> HeaderRules.builder().build()).hasMessage("rules: none (expected: request or response rules)");
    assertThatThrownBy(() -> RequestId.builder().header("X Id")).hasMessage("header: \"X Id\" (expected: a header name such as X-Request-Id)");
  }
}
