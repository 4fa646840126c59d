package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyServer;
import io.undertow.Undertow;
import io.undertow.util.Headers;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xnio.Options;
import org.xnio.SslClientAuthMode;

@Timeout(60)
class UpstreamTlsTest {
  @TempDir
  static Path dir;
  static TestCerts.Issued ca;
  static TestCerts.Issued server;
  static TestCerts.Issued other;
  static TestCerts.Issued client;

  @BeforeAll
  static void certs() throws Exception {
    ca = TestCerts.ca(dir, "ca");
    server = TestCerts.leaf(dir, "server", ca, "localhost", "localhost");
    other = TestCerts.leaf(dir, "other", ca, "other.test", "other.test");
    client = TestCerts.leaf(dir, "client", ca, "gatehouse-proxy", "gatehouse-proxy");
  }

  /** An HTTPS upstream on Undertow answering with the client certificate's subject, if any. */
  static final class TlsUpstream implements AutoCloseable {
    final Undertow undertow;
    final AtomicInteger requests = new AtomicInteger();

    TlsUpstream(TestCerts.Issued cert, boolean requireClientCert) {
      SSLContext ctx = TestCerts.serving(cert, requireClientCert ? ca : null);
      Undertow.Builder b = Undertow.builder().addHttpsListener(0, "127.0.0.1", ctx).setIoThreads(1).setWorkerThreads(2)
          .setHandler(ex -> {
            requests.incrementAndGet();
            String who = "none";
            if (ex.getConnection().getSslSessionInfo() != null) {
              try {
                Certificate[] peer = ex.getConnection().getSslSessionInfo().getPeerCertificates();
                who = ((java.security.cert.X509Certificate) peer[0]).getSubjectX500Principal().getName();
              } catch (Exception e) {
                who = "none";
              }
            }
            ex.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain");
            ex.getResponseSender().send("tls-ok client=" + who);
          });
      if (requireClientCert) {
        b.setSocketOption(Options.SSL_CLIENT_AUTH_MODE, SslClientAuthMode.REQUIRED);
      }
      undertow = b.build();
      undertow.start();
    }

    int port() {
      return ((InetSocketAddress) undertow.getListenerInfo().get(0).getAddress()).getPort();
    }

    @Override
    public void close() {
      undertow.stop();
    }
  }

  static ProxyServer proxy(UpstreamGroup g) {
    return ReverseProxy.builder().addRoute(Route.any().retry(RetryPolicy.none()).to(g)).build().start();
  }

  @Test
  void httpsUpstreamWithATrustedCertificateNamingItsHostIsUsed() throws Exception {
    try (TlsUpstream up = new TlsUpstream(server, false);
        ProxyServer proxy = proxy(UpstreamGroup.builder().add("https://localhost:" + up.port())
            .tls(UpstreamTls.builder().trustPem(ca.chain()).build()).build())) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/secure");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("tls-ok client=none");
      assertThat(Backends.get(proxy.port(), "/again").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aCustomPkcs12TrustStoreIsUsed() throws Exception {
    java.security.KeyStore ts = java.security.KeyStore.getInstance("PKCS12");
    ts.load(null, null);
    ts.setCertificateEntry("ca", ca.cert());
    Path file = dir.resolve("trust.p12");
    try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(file)) {
      ts.store(out, "secret".toCharArray());
    }
    try (TlsUpstream up = new TlsUpstream(server, false);
        ProxyServer proxy = proxy(UpstreamGroup.builder().add("https://localhost:" + up.port())
            .tls(UpstreamTls.builder().trustStore(file, "secret").build()).build())) {
      assertThat(Backends.get(proxy.port(), "/p12").body()).isEqualTo("tls-ok client=none");
    }
  }

  @Test
  void anUntrustedUpstreamCertificateIsRefusedWith502AndNothingIsSent() throws Exception {
    java.util.List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (TlsUpstream up = new TlsUpstream(server, false);
        ProxyServer proxy = ReverseProxy.builder()
            .errorHandler((exchange, error, phase) -> {
              errors.add(error.getMessage());
              return dev.gatehouse.proxy.ErrorHandler.defaults().handle(exchange, error, phase);
            })
            .addRoute(Route.any().retry(RetryPolicy.none()).to(UpstreamGroup.of("https://localhost:" + up.port())))
            .build().start()) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/secure");
      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(up.requests.get()).isZero();
      assertThat(errors).containsExactly("TLS handshake with upstream https://localhost:" + up.port()
          + " failed: certificate refused: unable to find valid certification path to requested target");
    }
  }

  @Test
  void aCertificateForAnotherHostIsRefusedUnlessHostVerificationIsOff() throws Exception {
    try (TlsUpstream up = new TlsUpstream(other, false)) {
      try (ProxyServer proxy = proxy(UpstreamGroup.builder().add("https://localhost:" + up.port())
          .tls(UpstreamTls.builder().trustPem(ca.chain()).build()).build())) {
        assertThat(Backends.get(proxy.port(), "/x").statusCode()).isEqualTo(502);
      }
      try (ProxyServer proxy = proxy(UpstreamGroup.builder().add("https://localhost:" + up.port())
          .tls(UpstreamTls.builder().trustPem(ca.chain()).verifyHostname(false).build()).build())) {
        assertThat(Backends.get(proxy.port(), "/x").statusCode()).isEqualTo(200);
      }
      assertThat(up.requests.get()).isEqualTo(1);
    }
  }

  @Test
  void mutualTlsPresentsTheProxysClientCertificate() throws Exception {
    try (TlsUpstream up = new TlsUpstream(server, true)) {
      try (ProxyServer proxy = proxy(UpstreamGroup.builder().add("https://localhost:" + up.port())
          .tls(UpstreamTls.builder().trustPem(ca.chain()).clientCertificate(client.chain(), client.key()).build())
          .build())) {
        HttpResponse<String> r = Backends.get(proxy.port(), "/mtls");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("tls-ok client=CN=gatehouse-proxy");
      }
      try (ProxyServer proxy = proxy(UpstreamGroup.builder().add("https://localhost:" + up.port())
          .tls(UpstreamTls.builder().trustPem(ca.chain()).build()).build())) {
        assertThat(Backends.get(proxy.port(), "/mtls").statusCode()).isEqualTo(502);
      }
    }
  }

  @Test
  void activeHealthChecksSpeakTlsToHttpsUpstreams() throws Exception {
    BlockingQueue<HealthEvent> events = new LinkedBlockingQueue<>();
    TestClock clock = new TestClock();
    Duration interval = Duration.ofSeconds(5);
    try (TlsUpstream up = new TlsUpstream(server, false)) {
      UpstreamGroup g = UpstreamGroup.builder().add("https://localhost:" + up.port())
          .tls(UpstreamTls.builder().trustPem(ca.chain()).build())
          .healthCheck(HealthCheck.http("/health").interval(interval).timeout(Duration.ofSeconds(2))
              .unhealthyThreshold(3).build())
          .onHealthChange(events::add).build();
      try (ProxyServer proxy = ReverseProxy.builder().clock(clock).addRoute(Route.any().to(g)).build().start()) {
        g.runDueHealthChecks().get(10, TimeUnit.SECONDS); // the round due at start
        for (int round = 0; round < 2; round++) {
          clock.advance(interval);
          g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
        }
        assertThat(up.requests.get()).as("the first round and two more, all passed over TLS").isEqualTo(3);
        assertThat(events).isEmpty();
        up.close();
        for (int round = 0; round < 3; round++) {
          clock.advance(interval);
          g.runDueHealthChecks().get(10, TimeUnit.SECONDS);
        }
        assertThat(events).singleElement().extracting(HealthEvent::to).isEqualTo(ServerState.UNHEALTHY);
      }
    }
  }

  @Test
  void upstreamTlsSettingsAreValidated() {
    Path missing = dir.resolve("nope.pem");
    assertThatThrownBy(() -> UpstreamTls.builder().trustPem(missing).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("upstreamTls.trustPem: " + missing + " (expected: a readable file)");
    assertThatThrownBy(() -> UpstreamTls.builder().trustPem(ca.chain()).trustStore(ca.chain(), "x").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("upstreamTls: both trustPem and trustStore set (expected: one of them)");
    assertThatThrownBy(() -> UpstreamTls.builder().protocols("TLSv1.4"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("upstreamTls.protocols: TLSv1.4 (expected: TLSv1.2 or TLSv1.3)");
  }
}
