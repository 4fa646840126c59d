package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ServerTls;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import java.io.IOException;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** maxClientConnections on a TLS listener: refused before the handshake, freed when an ALPN connection closes. */
@Timeout(60)
class ClientLimitsTlsTest {
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

  private static RawHttp connect(ProxyServer proxy) throws IOException {
    SSLSocket s = (SSLSocket) trustCa.getSocketFactory().createSocket("localhost", proxy.port());
    SSLParameters p = s.getSSLParameters();
    p.setApplicationProtocols(new String[] {"http/1.1"}); // ALPN picks HTTP/1.1: Undertow sets its close listener again
    s.setSSLParameters(p);
    s.setSoTimeout(10_000);
    s.startHandshake();
    return RawHttp.over(s);
  }

  @Test
  void aConnectionBeyondTheLimitIsClosedBeforeItsHandshakeAndAClosedOneFreesItsPlace() throws Exception {
    RecordingListener events = new RecordingListener();
    try (ProxyServer proxy = ReverseProxy.builder().addListener(events).maxClientConnections(1)
        .tls(ServerTls.builder().pem(localhost.chain(), localhost.key()).build()).http2(true)
        .addRoute(Route.any().to(backends.url(0))).build().start()) {
      RawHttp a = connect(proxy);
      assertThat(a.send("GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n").readResponse().status).isEqualTo(200);

      assertThatThrownBy(() -> connect(proxy)).isInstanceOf(IOException.class);
      events.await("limitReached connections 127.0.0.1");
      assertThat(events.events("tls ")).containsExactly("tls ok TLSv1.3"); // no handshake for the refused one

      a.close();
      events.await("connectionClosed");
      try (RawHttp b = connect(proxy)) {
        assertThat(b.send("GET /b HTTP/1.1\r\nHost: localhost\r\n\r\n").readResponse().status).isEqualTo(200);
      }
      assertThat(events.events("limitReached")).containsExactly("limitReached connections 127.0.0.1");
      assertThat(backends.get(0).getAllServeEvents()).extracting(e -> e.getRequest().getUrl())
          .containsExactlyInAnyOrder("/a", "/b");
    }
  }
}
