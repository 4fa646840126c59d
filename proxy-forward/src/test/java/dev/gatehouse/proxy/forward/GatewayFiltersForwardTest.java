package dev.gatehouse.proxy.forward;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.matching;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.access.IpAccess;
import dev.gatehouse.proxy.headers.HeaderRules;
import dev.gatehouse.proxy.headers.RequestId;
import dev.gatehouse.proxy.ratelimit.Limit;
import dev.gatehouse.proxy.ratelimit.RateLimit;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The gateway filters that make sense for egress work on the forward proxy's chain too. */
@Timeout(30)
class GatewayFiltersForwardTest {
  static WireMockServer origin;

  @BeforeAll
  static void startOrigin() {
    origin = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
    origin.start();
    origin.stubFor(any(anyUrl()).willReturn(aResponse().withBody("origin").withHeader("Server", "origin/1")));
  }

  @AfterAll
  static void stopOrigin() {
    origin.stop();
  }

  @Test
  void requestIdsHeaderRulesRateLimitsAndIpRulesApplyToEgress() throws Exception {
    RateLimit perClient = RateLimit.builder().limit(Limit.perMinute(2)).build();
    HeaderRules rules = HeaderRules.builder().request(r -> r.set("X-Egress-Client", "${client_ip}"))
        .response(r -> r.remove("Server")).build();
    try (ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port()))
        .addFilter(IpAccess.allowOnly("127.0.0.0/8")).addFilter(RequestId.defaults()).addFilter(perClient).addFilter(rules))) {
      HttpClient client = Fwd.client(proxy);
      String url = "http://127.0.0.1:" + origin.port() + "/out";
      HttpResponse<String> first = Fwd.send(client, Fwd.get(url).build());
      assertThat(first.statusCode()).isEqualTo(200);
      assertThat(first.headers().firstValue("Server")).isEmpty();
      assertThat(first.headers().firstValue("RateLimit")).hasValue("\"2-per-60s\";r=1;t=30");
      assertThat(Fwd.send(client, Fwd.get(url).build()).statusCode()).isEqualTo(200);
      HttpResponse<String> third = Fwd.send(client, Fwd.get(url).build());
      assertThat(third.statusCode()).isEqualTo(429);
      assertThat(third.headers().firstValue("X-Request-Id")).isPresent();
      origin.verify(2, getRequestedFor(urlEqualTo("/out")).withHeader("X-Egress-Client", equalTo("127.0.0.1"))
          .withHeader("X-Request-Id", matching("[0-9a-f-]{36}")));
    }
  }
}
