package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TlsInterceptionTest {
  private static final CertificateAuthority CA = CertificateAuthority.generate("Builder test CA");

  @Test
  void defaultsAreShortLivedEcdsaLeavesAndABoundedCache() {
    TlsInterception t = TlsInterception.builder(CA).build();

    assertThat(t.leafValidity()).isEqualTo(Duration.ofDays(7));
    assertThat(t.leafCacheSize()).isEqualTo(10_000);
    assertThat(t.leafKey()).isEqualTo(TlsInterception.LeafKey.ECDSA_P256);
    assertThat(t.toString()).isEqualTo("TlsInterception(" + CA + ", leaf ECDSA_P256 for PT168H)");
  }

  @Test
  void badSettingsAreRefusedAtOnceWithTheSettingNamed() {
    TlsInterception.Builder b = TlsInterception.builder(CA);

    assertThatThrownBy(() -> b.leafValidity(Duration.ofMinutes(5)))
        .hasMessage("leafValidity: PT5M (expected: 10 minutes to 397 days)");
    assertThatThrownBy(() -> b.leafValidity(Duration.ofDays(400)))
        .hasMessage("leafValidity: PT9600H (expected: 10 minutes to 397 days)");
    assertThatThrownBy(() -> b.leafCacheSize(0)).hasMessage("leafCacheSize: 0 (expected: > 0)");
    assertThatThrownBy(() -> b.leafKey(null)).hasMessage("leafKey");
    assertThatThrownBy(() -> TlsInterception.builder(null)).hasMessage("authority");
  }
}
