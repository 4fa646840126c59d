package dev.gatehouse.proxy.forward.internal.mitm;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

class InterceptionTest {
  private static final KeyPair CA_KEYS = Certificates.keyPair("EC");
  private static final X509Certificate CA = Certificates.authority(CA_KEYS, "Test CA",
      Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(10)));

  private static Interception interception() {
    return new Interception(CA, CA_KEYS.getPrivate(), "EC", Duration.ofDays(7), 100, InstantSource.system(),
        UpstreamTrust.load(null, null, null, List.of()), List.of(),
        dev.gatehouse.proxy.forward.InterceptionPolicy.interceptAll(), false);
  }

  @Test
  void aClientRefusingTheCertificateIsReportedOncePerHost() {
    Interception i = interception();
    SSLException jdk = new SSLHandshakeException("Received fatal alert: certificate_unknown");
    SSLException openSsl = new SSLException("Insufficient buffer remaining for AEAD cipher fragment (2). Needs to be "
        + "more than tag size (16)");

    assertThat(i.clientHandshakeFailed("a.example", "/127.0.0.1:1", jdk)).isTrue();
    assertThat(i.clientHandshakeFailed("a.example", "/127.0.0.1:2", openSsl)).isFalse();
    assertThat(i.clientHandshakeFailed("b.example", "/127.0.0.1:3", openSsl)).isTrue();
  }

  @Test
  void otherHandshakeFailuresAreNotBlamedOnTheCa() {
    Interception i = interception();

    assertThat(i.clientHandshakeFailed("a.example", "/127.0.0.1:1",
        new SSLHandshakeException("no cipher suites in common"))).isFalse();
    assertThat(i.clientHandshakeFailed("a.example", "/127.0.0.1:1",
        new SSLHandshakeException("Received fatal alert: unknown_ca"))).isTrue();
  }
}
