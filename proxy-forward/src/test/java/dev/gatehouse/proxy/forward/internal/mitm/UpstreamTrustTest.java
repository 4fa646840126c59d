package dev.gatehouse.proxy.forward.internal.mitm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.UpstreamConnectException;
import java.security.KeyPair;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class UpstreamTrustTest {
  private static final KeyPair KEYS = Certificates.keyPair("EC");
  private static final Instant NOW = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);

  private static X509Certificate ca(Instant from, Instant to) {
    return Certificates.authority(KEYS, "Chain CA", from, to);
  }

  @Test
  void aCertificateNotValidYetSaysFromWhen() {
    X509Certificate ca = ca(NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(9)));
    Instant from = NOW.plus(Duration.ofDays(1));
    X509Certificate leaf = Certificates.leaf(ca, KEYS.getPrivate(), KEYS.getPublic(), "a.example", from,
        NOW.plus(Duration.ofDays(2)));

    assertThat(UpstreamTrust.explain("a.example", new X509Certificate[] {leaf, ca},
        new CertificateException(new CertificateNotYetValidException("NotBefore"))))
        .isEqualTo("the certificate of a.example is not valid yet (not before " + from + ")");
  }

  @Test
  void anExpiredIssuerIsNamed() {
    Instant end = NOW.minus(Duration.ofDays(1));
    X509Certificate ca = ca(NOW.minus(Duration.ofDays(9)), end);
    X509Certificate leaf = Certificates.leaf(ca, KEYS.getPrivate(), KEYS.getPublic(), "a.example",
        NOW.minus(Duration.ofDays(3)), NOW.plus(Duration.ofDays(2)));

    assertThat(UpstreamTrust.explain("a.example", new X509Certificate[] {leaf, ca}, new CertificateException(
        new CertPathValidatorException("validity check failed", null, null, -1,
            CertPathValidatorException.BasicReason.EXPIRED))))
        .isEqualTo("the certificate of a.example was issued by CN=Chain CA, which has expired (not valid after "
            + end + ")");
  }

  @Test
  void otherRefusalsKeepTheJdksWords() {
    assertThat(UpstreamTrust.explain("a.example", new X509Certificate[0],
        new CertificateException("Certificates do not conform to algorithm constraints")))
        .isEqualTo("the certificate of a.example was refused: Certificates do not conform to algorithm constraints");
  }

  @Test
  void theReasonIsFoundInAConnectFailureAndNothingElseIsMistakenForIt() {
    assertThat(UpstreamTrust.reasonIn(new UpstreamConnectException("TLS handshake with upstream https://a.example "
        + "failed: certificate refused: the certificate of a.example has expired", null)))
        .isEqualTo("the certificate of a.example has expired");
    assertThat(UpstreamTrust.reasonIn(new UpstreamConnectException("cannot connect to upstream https://a.example: "
        + "Connection refused", null))).isNull();
  }
}
