package dev.gatehouse.proxy.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The {@code Authorization: Bearer} syntax (RFC 6750 section 2.1: {@code "Bearer" 1*SP b64token}). */
class BearerTokenSyntaxTest {
  @Test
  void theToken68AfterTheSchemeIsTakenWithSurroundingSpaceTrimmed() {
    assertThat(JwtEngine.bearerToken("Bearer abc.DEF-_~+/0189==")).isEqualTo("abc.DEF-_~+/0189==");
    assertThat(JwtEngine.bearerToken("bearer abc")).isEqualTo("abc");
    assertThat(JwtEngine.bearerToken("BEARER   abc \t")).isEqualTo("abc");
  }

  @Test
  void anythingElseIsNoBearerToken() {
    assertThat(JwtEngine.bearerToken("Bearer")).isNull();
    assertThat(JwtEngine.bearerToken("Bearer    ")).isNull();
    assertThat(JwtEngine.bearerToken("Bearerabc")).isNull();
    assertThat(JwtEngine.bearerToken("Basic abc")).isNull();
    assertThat(JwtEngine.bearerToken("Bearer a b")).isNull();
    assertThat(JwtEngine.bearerToken("Bearer a,b")).isNull();
    assertThat(JwtEngine.bearerToken("Bearer a\"b")).isNull();
    assertThat(JwtEngine.bearerToken("Bearer caf\u00e9")).isNull();
    assertThat(JwtEngine.bearerToken("Bearer a\u0100")).isNull();
    assertThat(JwtEngine.bearerToken("Bearer a\u007f")).isNull();
    assertThat(JwtEngine.bearerToken("Bearer " + "a".repeat(16 * 1024))).isNull();
  }
}
