package dev.gatehouse.proxy.forward.internal.mitm;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import org.junit.jupiter.api.Test;

/**
 * The client leg of an intercepted tunnel (the minted certificate presented to the client) is served by
 * Conscrypt when its jar is on the class path, else by the JDK's TLS. This class runs twice (see the
 * pom), without Conscrypt and with it; the interception tests run in both executions too.
 */
class LeafProviderTest {
  static final boolean CONSCRYPT = Boolean.getBoolean("gatehouse.test.conscrypt");

  @Test
  void theLeafContextIsConscryptExactlyWhenItIsOnTheClassPathAndCompletesAHandshake() throws Exception {
    assertThat(System.getProperty("gatehouse.test.conscrypt")).as("set by the surefire execution").isNotNull();
    KeyPair caKeys = Certificates.keyPair("EC");
    Instant now = Instant.now();
    X509Certificate ca = Certificates.authority(caKeys, "Test CA", now.minus(Duration.ofDays(1)),
        now.plus(Duration.ofDays(30)));
    Leaf leaf = new LeafMinter(ca, caKeys.getPrivate(), Certificates.keyPair("EC"), Duration.ofDays(7), () -> now)
        .mint("shop.example");

    assertThat(leaf.context().getProvider().getName()).isEqualTo(CONSCRYPT ? "Conscrypt" : "SunJSSE");

    // a whole handshake in memory: a JDK client trusting the CA against the leaf's server engine
    javax.net.ssl.SSLContext clientCtx = javax.net.ssl.SSLContext.getInstance("TLS");
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca);
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
    tmf.init(trust);
    clientCtx.init(null, tmf.getTrustManagers(), null);
    SSLEngine client = clientCtx.createSSLEngine("shop.example", 443);
    client.setUseClientMode(true);
    SSLEngine server = leaf.context().createSSLEngine();
    server.setUseClientMode(false);
    handshake(client, server);
    assertThat(server.getSession().getProtocol()).isEqualTo("TLSv1.3");
    assertThat(((X509Certificate) client.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName())
        .isEqualTo("CN=shop.example");
  }

  private static void handshake(SSLEngine client, SSLEngine server) throws Exception {
    int size = 64 * 1024;
    java.nio.ByteBuffer c2s = java.nio.ByteBuffer.allocate(size);
    java.nio.ByteBuffer s2c = java.nio.ByteBuffer.allocate(size);
    java.nio.ByteBuffer app = java.nio.ByteBuffer.allocate(size);
    java.nio.ByteBuffer empty = java.nio.ByteBuffer.allocate(0);
    client.beginHandshake();
    server.beginHandshake();
    for (int i = 0; i < 100 && !(done(client) && done(server)); i++) {
      step(client, empty, c2s, s2c, app);
      step(server, empty, s2c, c2s, app);
    }
    assertThat(done(client) && done(server)).as("handshake completed").isTrue();
  }

  private static boolean done(SSLEngine e) {
    SSLEngineResult.HandshakeStatus s = e.getHandshakeStatus();
    return s == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING || s == SSLEngineResult.HandshakeStatus.FINISHED;
  }

  /** One round for {@code e}: run tasks, wrap into {@code out}, unwrap what {@code in} holds. */
  private static void step(SSLEngine e, java.nio.ByteBuffer empty, java.nio.ByteBuffer out, java.nio.ByteBuffer in,
      java.nio.ByteBuffer app) throws Exception {
    Runnable task;
    while ((task = e.getDelegatedTask()) != null) {
      task.run();
    }
    e.wrap(empty, out);
    in.flip();
    while (in.hasRemaining()) {
      SSLEngineResult r = e.unwrap(in, app);
      while ((task = e.getDelegatedTask()) != null) {
        task.run();
      }
      if (r.getStatus() != SSLEngineResult.Status.OK || r.bytesConsumed() == 0) {
        break;
      }
    }
    in.compact();
    app.clear();
  }
}
