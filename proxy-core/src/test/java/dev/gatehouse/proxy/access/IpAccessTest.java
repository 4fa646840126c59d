package dev.gatehouse.proxy.access;

import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(30)
class IpAccessTest {
  @RegisterExtension
  static WireMockExtension upstream = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

  private final HttpClient client = Clients.http();

  @BeforeEach
  void stubs() {
    upstream.stubFor(get(anyUrl()).willReturn(ok("upstream")));
  }

  private int status(ProxyServer proxy, String forwardedFor) throws Exception {
    var b = Clients.request(proxy, "/x").GET();
    if (forwardedFor != null) {
      b.header("X-Forwarded-For", forwardedFor);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  void theFirstMatchingRuleDecidesOnTheRealClientAddress() throws Exception {
    IpAccess access = IpAccess.builder().deny("10.1.2.3").allow("10.0.0.0/8", "2001:db8::/32").otherwiseDeny().build();
    List<String> lines = new CopyOnWriteArrayList<>();
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).trustedProxies("127.0.0.1")
        .accessLog(AccessLog.sink(lines::add, AccessLog.Format.JSON_LINES)).addFilter(access).build().start()) {
      assertThat(status(proxy, "10.9.8.7")).isEqualTo(200);
      assertThat(status(proxy, "10.1.2.3")).isEqualTo(403);
      assertThat(status(proxy, "2001:db8::1")).isEqualTo(200);
      assertThat(status(proxy, "192.168.1.1")).isEqualTo(403);
      assertThat(status(proxy, null)).isEqualTo(403); // 127.0.0.1 itself
      upstream.verify(2, anyRequestedFor(anyUrl()));
    }
    assertThat(lines).anyMatch(l -> l.contains("\"decision\":\"deny\"") && l.contains("\"rule\":\"deny 10.1.2.3\""));
  }

  @Test
  void anUntrustedPeerCannotPickItsAddressWithXForwardedFor() throws Exception {
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(IpAccess.allowOnly("10.0.0.0/8"))
        .build().start()) {
      assertThat(status(proxy, "10.0.0.1")).isEqualTo(403);
    }
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(IpAccess.allowOnly("127.0.0.0/8"))
        .build().start()) {
      assertThat(status(proxy, "10.0.0.1")).isEqualTo(200);
    }
  }

  @Test
  void denyOnlyAllowsTheRest() throws Exception {
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(IpAccess.denyOnly("::ffff:127.0.0.1"))
        .build().start()) {
      assertThat(status(proxy, null)).isEqualTo(403); // an IPv4-mapped address is the IPv4 address
    }
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(IpAccess.denyOnly("10.0.0.0/8"))
        .build().start()) {
      assertThat(status(proxy, null)).isEqualTo(200);
    }
  }

  @Test
  void badBlocksFailAtOnce() {
    assertThatThrownBy(() -> IpAccess.builder().allow("10.0.0.0/33"))
        .hasMessage("allow: 10.0.0.0/33 (expected: a prefix length 0-32)");
    assertThatThrownBy(() -> IpAccess.builder().deny("example.com"))
        .hasMessage("deny: example.com (expected: an IP address or CIDR block such as 10.0.0.0/8)");
  }
}
