package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.testsupport.TestProxy;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ProxyBuilderTest {

  @Test
  void portRejectsNegativeValues() {
    assertThatThrownBy(() -> TestProxy.builder().port(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("port: -1 (expected: 0-65535)");
  }

  @Test
  void portRejectsValuesAbove65535() {
    assertThatThrownBy(() -> TestProxy.builder().port(65536))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("port: 65536 (expected: 0-65535)");
  }

  @Test
  void ioThreadsMustBePositive() {
    assertThatThrownBy(() -> TestProxy.builder().ioThreads(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ioThreads: 0 (expected: > 0)");
  }

  @Test
  void connectTimeoutRejectsNegativeDurations() {
    assertThatThrownBy(() -> TestProxy.builder().connectTimeout(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("connectTimeout: PT-1S (expected: > 0)");
  }

  @Test
  void readTimeoutAcceptsZeroAsNoTimeout() {
    TestProxy.builder().readTimeout(Duration.ZERO);
  }

  @Test
  void readTimeoutBelowOneMillisecondFailsAtBuild() {
    assertThatThrownBy(() -> TestProxy.builder().upstream("http://127.0.0.1:1").readTimeout(Duration.ofNanos(10)).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("readTimeout: PT0.00000001S (expected: 0 or >= 1 ms)");
  }

  @Test
  void addFilterRejectsNull() {
    assertThatThrownBy(() -> TestProxy.builder().addFilter(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("filter");
  }

  @Test
  void hostRejectsBlank() {
    assertThatThrownBy(() -> TestProxy.builder().host(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("host: \" \" (expected: a host name or IP address)");
  }

  @Test
  void trustedProxiesRejectsNames() {
    assertThatThrownBy(() -> TestProxy.builder().trustedProxies("10.0.0.0/8", "proxy.internal"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("trustedProxies: proxy.internal (expected: an IP address or CIDR block such as 10.0.0.0/8)");
  }

  @Test
  void trustedProxiesRejectsBadPrefixLength() {
    assertThatThrownBy(() -> TestProxy.builder().trustedProxies("10.0.0.0/33"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("trustedProxies: 10.0.0.0/33 (expected: a prefix length 0-32)");
  }

  @Test
  void viaRejectsNonTokens() {
    assertThatThrownBy(() -> TestProxy.builder().via("my proxy"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("via: \"my proxy\" (expected: a token such as gatehouse, or null)");
  }

  @Test
  void maxHeaderBytesHasBounds() {
    assertThatThrownBy(() -> TestProxy.builder().maxHeaderBytes(10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxHeaderBytes: 10 (expected: 256-1048576)");
  }

  @Test
  void maxRequestBodySizeRejectsNegative() {
    assertThatThrownBy(() -> TestProxy.builder().maxRequestBodySize(-5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRequestBodySize: -5 (expected: >= 0)");
  }

  @Test
  void buildFailsWhenIdleConnectionsExceedConnections() {
    assertThatThrownBy(() -> TestProxy.builder().upstream("http://127.0.0.1:1")
        .upstreamMaxConnections(8).upstreamMaxIdleConnections(16).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("upstreamMaxIdleConnections: 16 (expected: <= upstreamMaxConnections 8)");
  }

  @Test
  void portBeforeStartFails() {
    ProxyServer proxy = TestProxy.builder().upstream("http://127.0.0.1:1").build();
    assertThatThrownBy(proxy::port)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("proxy not started (expected: start() first)");
  }

  @Test
  void startTwiceFails() {
    try (ProxyServer proxy = TestProxy.builder().upstream("http://127.0.0.1:1").build().start()) {
      assertThat(proxy.port()).isPositive();
      assertThatThrownBy(proxy::start)
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("proxy already started");
    }
  }

  @Test
  void startOnATakenPortFailsNamingTheAddress() {
    try (ProxyServer first = TestProxy.builder().upstream("http://127.0.0.1:1").build().start()) {
      ProxyServer second = TestProxy.builder().upstream("http://127.0.0.1:1").port(first.port()).build();
      assertThatThrownBy(second::start)
          .isInstanceOf(ProxyStartException.class)
          .hasMessage("failed to bind 127.0.0.1:" + first.port());
    }
  }

  @Test
  void aggregateRejectsNegativeLimit() {
    assertThatThrownBy(() -> BodyTransformers.aggregate(-1, b -> b))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxBytes: -1 (expected: 0-2147483639)");
  }

  @Test
  void responseStatusMustBeFinal() {
    assertThatThrownBy(() -> ProxyResponse.of(100))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("status: 100 (expected: 200-599)");
  }

  @Test
  void headersRejectInjectedLineBreaks() {
    ProxyResponse r = ProxyResponse.of(200);
    assertThatThrownBy(() -> r.headers().set("X-A", "a\r\nSet-Cookie: x=1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("header X-A: value contains CR, LF or NUL (expected: visible characters, space and tab)");
    assertThatThrownBy(() -> r.headers().set("X A", "a"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("header name: \"X A\" (expected: an RFC 9110 token)");
  }
}
