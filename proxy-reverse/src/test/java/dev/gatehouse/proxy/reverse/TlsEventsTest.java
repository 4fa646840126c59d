package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ServerTls;
import dev.gatehouse.proxy.events.TlsHandshake;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** TLS handshakes and secure connections as events; ALPN (HTTP/2) keeps working with listeners on. */
@Timeout(60)
class TlsEventsTest {
  @TempDir
  static Path dir;
  static Backends backends;
  static TestCerts.Issued localhost;
  static SSLContext trustCa;

  @BeforeAll
  static void setUp() throws Exception {
    backends = Backends.start(1);
    TestCerts.Issued ca = TestCerts.ca(dir, "ca");
    localhost = TestCerts.leaf(dir, "localhost", ca, "localhost", "localhost");
    trustCa = TestCerts.trusting(ca);
  }

  @AfterAll
  static void tearDown() {
    backends.close();
  }

  static HttpClient client(HttpClient.Version version, String... protocols) {
    SSLParameters p = trustCa.getDefaultSSLParameters();
    if (protocols.length > 0) {
      p.setProtocols(protocols);
    }
    return HttpClient.newBuilder().sslContext(trustCa).sslParameters(p).version(version)
        .connectTimeout(Duration.ofSeconds(5)).build();
  }

  @Test
  void aCompletedHandshakeAndItsSecureConnectionAreReportedAndHttp2StillNegotiates() throws Exception {
    RecordingListener events = new RecordingListener();
    try (ProxyServer proxy = ReverseProxy.builder().addListener(events)
        .tls(ServerTls.builder().pem(localhost.chain(), localhost.key()).build()).http2(true)
        .addRoute(Route.any().to(backends.url(0))).build().start()) {
      HttpResponse<String> r = client(HttpClient.Version.HTTP_2).send(
          HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/h2")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
      events.awaitEnded(1);

      assertThat(events.events("tls", "connectionOpened")).containsExactly(
          "tls ok " + r.sslSession().orElseThrow().getProtocol(), "connectionOpened HTTP/2.0 tls");
      TlsHandshake h = events.handshakes.get(0);
      assertThat(h.succeeded()).isTrue();
      assertThat(h.failure()).isEmpty();
      assertThat(h.cipherSuite()).isPresent();
      assertThat(events.ended.get(0).isSecure()).isTrue();
    }
  }

  @Test
  void aFailedHandshakeIsReportedWithItsCause() throws Exception {
    RecordingListener events = new RecordingListener();
    try (ProxyServer proxy = ReverseProxy.builder().addListener(events)
        .tls(ServerTls.builder().pem(localhost.chain(), localhost.key()).protocols("TLSv1.3").build())
        .addRoute(Route.any().to(backends.url(0))).build().start()) {
      assertThatThrownBy(() -> client(HttpClient.Version.HTTP_1_1, "TLSv1.2").send(
          HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/")).build(),
          HttpResponse.BodyHandlers.ofString())).isInstanceOf(javax.net.ssl.SSLException.class);

      assertThat(events.await("tls")).isEqualTo("tls failed");
      TlsHandshake h = events.handshakes.get(0);
      assertThat(h.succeeded()).isFalse();
      assertThat(h.failure()).containsInstanceOf(javax.net.ssl.SSLHandshakeException.class);
      assertThat(h.protocol()).isEmpty();
      assertThat(events.events("exchange", "connection")).isEmpty();
    }
  }

  private static RawHttp connectHttp11(ProxyServer proxy) throws IOException {
    SSLSocket s = (SSLSocket) trustCa.getSocketFactory().createSocket("localhost", proxy.port());
    SSLParameters p = s.getSSLParameters();
    p.setApplicationProtocols(new String[] {"http/1.1"}); // ALPN picks HTTP/1.1: Undertow sets its close listener again
    s.setSSLParameters(p);
    s.setSoTimeout(10_000);
    s.startHandshake();
    return RawHttp.over(s);
  }

  /** maxClientConnections on a TLS listener: refused before the handshake, freed when an ALPN connection closes. */
  @Test
  void aConnectionBeyondTheLimitIsClosedBeforeItsHandshakeAndAClosedOneFreesItsPlace() throws Exception {
    RecordingListener events = new RecordingListener();
    try (ProxyServer proxy = ReverseProxy.builder().addListener(events).maxClientConnections(1)
        .tls(ServerTls.builder().pem(localhost.chain(), localhost.key()).build()).http2(true)
        .addRoute(Route.any().to(backends.url(0))).build().start()) {
      RawHttp a = connectHttp11(proxy);
      assertThat(a.send("GET /limit-a HTTP/1.1\r\nHost: localhost\r\n\r\n").readResponse().status).isEqualTo(200);

      assertThatThrownBy(() -> connectHttp11(proxy)).isInstanceOf(IOException.class);
      events.await("limitReached connections 127.0.0.1");
      assertThat(events.events("tls ")).containsExactly("tls ok TLSv1.3"); // no handshake for the refused one

      a.close();
      events.await("connectionClosed");
      try (RawHttp b = connectHttp11(proxy)) {
        assertThat(b.send("GET /limit-b HTTP/1.1\r\nHost: localhost\r\n\r\n").readResponse().status).isEqualTo(200);
      }
      assertThat(events.events("limitReached")).containsExactly("limitReached connections 127.0.0.1");
      assertThat(backends.get(0).getAllServeEvents()).extracting(e -> e.getRequest().getUrl())
          .filteredOn(u -> u.startsWith("/limit-")).containsExactlyInAnyOrder("/limit-a", "/limit-b");
    }
  }
}
