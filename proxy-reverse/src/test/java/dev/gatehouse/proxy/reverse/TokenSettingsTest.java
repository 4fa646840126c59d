package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Every setting that takes a method, header or cookie name checks it with the project's one token validator. */
class TokenSettingsTest {

  @Test
  void routeMethodsAndHeaderNamesMustBeTokens() {
    assertThatThrownBy(() -> Route.any().methods("GET", "GE T"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("method: \"GE T\" (expected: a method token such as GET)");
    assertThatThrownBy(() -> Route.any().header("X-Ä"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("header: \"X-Ä\" (expected: a header name token)");
    assertThatThrownBy(() -> Route.any().header("X:Y", "v"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("header: \"X:Y\" (expected: a header name token)");
    assertThatThrownBy(() -> Route.any().header(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("header: \"\" (expected: a header name token)");
    assertThat(Route.any().methods("PROPFIND", "M-SEARCH").header("X_Odd!~").to("http://127.0.0.1:1")).isNotNull();
  }

  @Test
  void stickySessionCookieNamesMustBeTokens() {
    assertThatThrownBy(() -> UpstreamGroup.builder().stickySessions("a=b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("stickySessions: \"a=b\" (expected: a cookie name token)");
    assertThatThrownBy(() -> UpstreamGroup.builder().stickySessions("sid\r\nX: y"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("stickySessions: \"sid\r\nX: y\" (expected: a cookie name token)");
    assertThatThrownBy(() -> UpstreamGroup.builder().stickySessions(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("stickySessions");
  }

  @Test
  void healthCheckMethodsMustBeTokens() {
    assertThatThrownBy(() -> HealthCheck.http("/h").method("GET /"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("healthCheck.method: \"GET /\" (expected: a method token such as GET)");
    assertThat(HealthCheck.http("/h").method("HEAD").build().method()).isEqualTo("HEAD");
  }

  @Test
  void hashKeyNamesMustBeTokens() {
    assertThatThrownBy(() -> LoadBalancing.consistentHashByHeader("X\u0000"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("consistentHashByHeader: \"X\u0000\" (expected: a token such as X-User-Id)");
    assertThatThrownBy(() -> LoadBalancing.consistentHashByCookie("a;b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("consistentHashByCookie: \"a;b\" (expected: a token such as X-User-Id)");
  }
}
