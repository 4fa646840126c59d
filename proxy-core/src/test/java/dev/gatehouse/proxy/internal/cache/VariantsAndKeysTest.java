package dev.gatehouse.proxy.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class VariantsAndKeysTest {

  @Test
  void variantNormalisesLinesAndWhitespace() {
    String a = Variants.of(List.of("accept-encoding"), TestSettings.fields("Accept-Encoding", "gzip,  br"));
    String b = Variants.of(List.of("accept-encoding"), TestSettings.fields("Accept-Encoding", "gzip", "Accept-Encoding", "br"));
    assertThat(a).isEqualTo(b);
    assertThat(Variants.of(List.of("accept-encoding"), TestSettings.fields("Accept-Encoding", "br"))).isNotEqualTo(a);
  }

  @Test
  void absentFieldDiffersFromEmptyOne() {
    String absent = Variants.of(List.of("x-a"), TestSettings.fields());
    String empty = Variants.of(List.of("x-a"), TestSettings.fields("X-A", ""));
    assertThat(absent).isNotEqualTo(empty);
  }

  @Test
  void noVaryIsTheEmptyVariant() {
    assertThat(Variants.of(List.of(), TestSettings.fields("A", "b"))).isEmpty();
  }

  @Test
  void defaultKeysAreLowerCaseWithoutDefaultPort() {
    assertThat(CacheKeys.keyOf(URI.create("HTTP://Example.COM:80/A%2Fb?x=1"))).isEqualTo("http://example.com/A%2Fb?x=1");
    assertThat(CacheKeys.keyOf(URI.create("https://example.com:443"))).isEqualTo("https://example.com/");
    assertThat(CacheKeys.keyOf(URI.create("https://example.com:8443/x"))).isEqualTo("https://example.com:8443/x");
    assertThat(CacheKeys.key("http", "Example.com", "/p", "")).isEqualTo("http://example.com/p");
  }

  @Test
  void relativeUriCannotBePurged() {
    assertThatThrownBy(() -> CacheKeys.keyOf(URI.create("/a")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("uri: \"/a\" (expected: an absolute http or https URI)");
  }
}
