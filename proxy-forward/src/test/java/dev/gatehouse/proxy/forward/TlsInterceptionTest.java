package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
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
    assertThat(t.policy()).isSameAs(InterceptionPolicy.interceptAll());
    assertThat(t.nonTls()).isEqualTo(TlsInterception.NonTls.REFUSE);
    assertThat(t.toString()).isEqualTo("TlsInterception(" + CA + ", InterceptionPolicy(interceptAll, intercept [], "
        + "bypass []), non-TLS REFUSE, leaf ECDSA_P256 for PT168H, upstream trust the JDK's roots)");
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

  @Test
  void upstreamTrustFilesAreReadAtBuildAndConflictsAreNamed() throws Exception {
    Path missing = Path.of("/nonexistent/ca.pem");
    assertThatThrownBy(() -> TlsInterception.builder(CA).addUpstreamTrustPem(missing).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("addUpstreamTrustPem: /nonexistent/ca.pem (expected: a readable file)");
    Path pem = ExternalClients.pemFile(CA.certificatePem());
    assertThatThrownBy(() -> TlsInterception.builder(CA).upstreamTrustPem(pem).upstreamTrustStore(pem, "x").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("upstreamTrustPem: " + pem + " conflicts with upstreamTrustStore: " + pem + " (expected: one of them)");
    assertThat(TlsInterception.builder(CA).upstreamTrustPem(pem).build().toString())
        .endsWith("upstream trust " + pem + ")");
  }

  @Test
  void turningOffUpstreamVerificationNamesTheHostsLoudly() {
    assertThatThrownBy(() -> TlsInterception.builder(CA).dangerouslyTrustAnyUpstreamCertificate("bad host"))
        .hasMessage("dangerouslyTrustAnyUpstreamCertificate: \"bad host\" (expected: a host name, *.domain or IP "
            + "address, optionally with :port)");
    assertThat(TlsInterception.builder(CA).dangerouslyTrustAnyUpstreamCertificate("staging.example").build().toString())
        .endsWith(", UNVERIFIED upstreams [staging.example])");
  }

  @Test
  void interceptionAndAParentProxyForTunnelsConflict() {
    TlsInterception t = TlsInterception.builder(CA).build();
    assertThatThrownBy(() -> ForwardProxy.builder().intercept(t).parentProxy("http://parent.example:3128").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("intercept: " + t + " conflicts with the parent proxy http://parent.example:3128 (expected: one "
            + "of them; intercepted tunnels connect to the servers directly)");
    assertThatThrownBy(() -> ForwardProxy.builder().intercept(null)).hasMessage("intercept");
  }
}
