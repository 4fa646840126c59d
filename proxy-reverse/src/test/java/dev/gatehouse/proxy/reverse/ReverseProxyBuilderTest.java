package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ReverseProxyBuilderTest {

  @Test
  void buildFailsWithoutRoutes() {
    assertThatThrownBy(() -> ReverseProxy.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("no routes configured (expected: at least one addRoute(...))");
  }

  @Test
  void buildFailsOnARouteThatCanNeverMatch() {
    assertThatThrownBy(() -> ReverseProxy.builder()
        .addRoute(Route.pathPrefix("/api").to("http://localhost:8081"))
        .addRoute(Route.pathPrefix("/api").to("http://localhost:8082"))
        .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("route pathPrefix(/api) is already mapped to weightedRoundRobin[http://localhost:8081] "
            + "(expected: each route's conditions added once)");
  }

  @Test
  void upstreamMustBeAnAbsoluteHttpUri() {
    assertThatThrownBy(() -> UpstreamGroup.of("localhost:8081"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("upstream: localhost:8081 (expected: an absolute http or https URI)");
  }

  @Test
  void upstreamMustNotHaveAPath() {
    assertThatThrownBy(() -> UpstreamGroup.of("http://localhost:8081/base"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("upstream: http://localhost:8081/base (expected: scheme, host and port only; use Route.rewritePrefix to change paths)");
  }

  @Test
  void weightHasBounds() {
    assertThatThrownBy(() -> UpstreamGroup.builder().add("http://a:1", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("weight: 0 (expected: 1-1000)");
  }

  @Test
  void emptyGroupFails() {
    assertThatThrownBy(() -> UpstreamGroup.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("upstream group has no servers (expected: at least one add(...))");
  }

  @Test
  void pathPrefixMustStartWithSlash() {
    assertThatThrownBy(() -> Route.pathPrefix("api"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("pathPrefix: \"api\" (expected: a path starting with /, without query)");
  }

  @Test
  void stripPrefixNeedsAPathPrefix() {
    assertThatThrownBy(() -> Route.host("a.example").stripPrefix().to("http://localhost:1"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("stripPrefix/rewritePrefix requires pathPrefix (expected: Route.pathPrefix(...) first)");
  }
}
