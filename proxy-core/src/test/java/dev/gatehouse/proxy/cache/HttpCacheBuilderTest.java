package dev.gatehouse.proxy.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.testsupport.PublicApi;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Settings are checked at once, with messages naming setting, value and expectation. */
class HttpCacheBuilderTest {
  private final HttpCache.Builder b = HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(1)));

  @Test
  void publicApiMentionsNoEngineOrInternalTypes() throws Exception {
    assertThat(PublicApi.violations(HttpCache.class)).isEmpty();
  }

  @Test
  void invalidSettingsNameTheSettingAndTheExpectation() {
    assertThatThrownBy(() -> b.name("my cache")).hasMessage("name: \"my cache\" (expected: a token such as gatehouse)");
    assertThatThrownBy(() -> b.maxObjectSize(DataSize.ofBytes(0))).hasMessage("maxObjectSize: 0 bytes (expected: > 0)");
    assertThatThrownBy(() -> b.heuristicFreshness(1.5, Duration.ofHours(1)))
        .hasMessage("heuristicFreshness fraction: 1.5 (expected: 0-1)");
    assertThatThrownBy(() -> b.heuristicFreshness(0.1, Duration.ofHours(-1)))
        .hasMessage("heuristicFreshness cap: PT-1H (expected: >= 0)");
    assertThatThrownBy(() -> b.targetedFields("CDN Cache-Control"))
        .hasMessage("targetedFields: \"CDN Cache-Control\" (expected: a header field name)");
    assertThatThrownBy(() -> b.surrogateKeyField("a b"))
        .hasMessage("surrogateKeyField: \"a b\" (expected: a header field name or null)");
    assertThatThrownBy(() -> b.useStale(Duration.ofSeconds(-1), UseStale.ERROR))
        .hasMessage("useStale limit: PT-1S (expected: >= 0)");
    assertThatThrownBy(() -> b.collapseTimeout(Duration.ofSeconds(-1)))
        .hasMessage("collapseTimeout: PT-1S (expected: >= 0)");
    assertThatThrownBy(() -> b.hitForMiss(Duration.ofSeconds(-1))).hasMessage("hitForMiss: PT-1S (expected: >= 0)");
    assertThatThrownBy(() -> b.key(null)).isInstanceOf(NullPointerException.class).hasMessage("key");
    assertThatThrownBy(() -> HttpCache.builder(null)).isInstanceOf(NullPointerException.class).hasMessage("store");
  }

  @Test
  void purgeOfARelativeUriIsRefused() {
    try (HttpCache cache = b.build()) {
      assertThatThrownBy(() -> cache.purge(java.net.URI.create("/x")))
          .hasMessage("uri: \"/x\" (expected: an absolute http or https URI)");
    }
  }

  @Test
  void dataSizes() {
    assertThat(DataSize.ofMiB(256).toBytes()).isEqualTo(256L * 1024 * 1024);
    assertThat(DataSize.ofMiB(256)).hasToString("256 MiB");
    assertThat(DataSize.ofKiB(1536)).hasToString("1536 KiB");
    assertThat(DataSize.ofBytes(1500)).hasToString("1500 bytes");
    assertThat(DataSize.ofGiB(2)).isEqualTo(DataSize.ofMiB(2048));
    assertThatThrownBy(() -> DataSize.ofMiB(-1)).hasMessage("mib: -1 (expected: 0-8796093022207)");
    assertThatThrownBy(() -> DataSize.ofBytes(-1)).hasMessage("bytes: -1 (expected: >= 0)");
  }
}
