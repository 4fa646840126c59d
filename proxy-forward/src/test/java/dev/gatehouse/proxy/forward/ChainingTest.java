package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import javax.net.ssl.HttpsURLConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ChainingTest {

  private static ProxyServer parent(int... originPorts) {
    return Fwd.start(Fwd.builder().via("parent").egress(Fwd.allowLoopback(originPorts))
        .proxyAuthentication("parent", ProxyAuthenticator.users(Map.of("child", "s3cret"))));
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void plainRequestsGoThroughTheParentWithItsCredentials() throws Exception {
    try (RawUpstream origin = RawUpstream.keepAlive("via parent");
         ProxyServer parent = parent(origin.port());
         ProxyServer child = Fwd.start(Fwd.builder().via("child").egress(Fwd.allowLoopback(origin.port()))
             .parentProxy("http://child:s3cret@127.0.0.1:" + parent.port()))) {
      RawHttp.Response r = RawHttp.exchange(child.port(), "GET http://127.0.0.1:" + origin.port()
          + "/p?q HTTP/1.1\r\nHost: 127.0.0.1:" + origin.port() + "\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("via parent");
      RawUpstream.Request seen = origin.nextRequest();
      assertThat(seen.requestLine).isEqualTo("GET /p?q HTTP/1.1");
      assertThat(seen.header("via")).isEqualTo("1.1 child, 1.1 parent");
      assertThat(seen.header("proxy-authorization")).isNull();
      assertThat(r.header("via")).isEqualTo("1.1 parent, 1.1 child");
    }
  }

  @Test
  void httpsGoesThroughTheParentAsATunnelInATunnel() throws Exception {
    try (TlsOrigin origin = new TlsOrigin();
         ProxyServer parent = parent(origin.port());
         ProxyServer child = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port()))
             .parentProxy("http://child:s3cret@127.0.0.1:" + parent.port()))) {
      HttpsURLConnection c = (HttpsURLConnection) new URL(origin.url("/chained")).openConnection(
          new Proxy(Proxy.Type.HTTP, new InetSocketAddress("127.0.0.1", child.port())));
      c.setSSLSocketFactory(TlsOrigin.clientContext().getSocketFactory());
      c.setReadTimeout(10_000);
      try (InputStream in = c.getInputStream()) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("secure hello /chained");
      } finally {
        c.disconnect();
      }
    }
  }

  @Test
  void wrongParentCredentialsAnswer502ForRequestsAndTunnels() throws Exception {
    try (RawUpstream origin = RawUpstream.keepAlive("x");
         ProxyServer parent = parent(origin.port());
         ProxyServer child = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port()))
             .parentProxy("http://child:wrong@127.0.0.1:" + parent.port()))) {
      String t = "127.0.0.1:" + origin.port();
      RawHttp.Response plain = RawHttp.exchange(child.port(), "GET http://" + t + "/ HTTP/1.1\r\nHost: " + t + "\r\n\r\n");
      assertThat(plain.status).isEqualTo(502);
      assertThat(plain.bodyText()).isEqualTo("Bad Gateway: the parent proxy refused this proxy's credentials\n");

      RawHttp.Response tunnel = RawHttp.exchange(child.port(), "CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n\r\n");
      assertThat(tunnel.status).isEqualTo(502);
      assertThat(origin.connections()).isZero();
    }
  }

  @Test
  void bypassedDestinationsGoDirect() throws Exception {
    int deadParent = closedPort();
    try (RawUpstream origin = RawUpstream.keepAlive("direct");
         ProxyServer child = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port()))
             .parentProxy("http://127.0.0.1:" + deadParent)
             .parentProxyBypass("localhost,127.0.0.1,.corp.example.com"))) {
      RawHttp.Response r = RawHttp.exchange(child.port(), "GET http://127.0.0.1:" + origin.port()
          + "/ HTTP/1.1\r\nHost: 127.0.0.1:" + origin.port() + "\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("direct");
    }
  }

  @Test
  void theParentCanComeFromTheHttpProxyEnvironmentVariables() throws Exception {
    try (RawUpstream origin = RawUpstream.keepAlive("env");
         ProxyServer parent = parent(origin.port());
         ProxyServer child = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port()))
             .parentProxyFromEnvironment(Map.of(
                 "http_proxy", "http://child:s3cret@127.0.0.1:" + parent.port(),
                 "HTTPS_PROXY", "http://child:s3cret@127.0.0.1:" + parent.port(),
                 "no_proxy", ".corp.example.com")))) {
      RawHttp.Response r = RawHttp.exchange(child.port(), "GET http://127.0.0.1:" + origin.port()
          + "/ HTTP/1.1\r\nHost: 127.0.0.1:" + origin.port() + "\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
      assertThat(origin.nextRequest().header("via")).isEqualTo("1.1 gatehouse, 1.1 parent");
    }
  }

  @Test
  void theParentsRefusalOfATunnelIsPassedOn() throws Exception {
    try (ProxyServer parent = Fwd.start(Fwd.builder().via("parent"));
         ProxyServer child = Fwd.start(Fwd.builder().egress(EgressPolicy.allowPublic().allowHosts("127.0.0.1:443"))
             .parentProxy("http://127.0.0.1:" + parent.port()))) {
      RawHttp.Response r = RawHttp.exchange(child.port(), "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n");

      assertThat(r.status).isEqualTo(403);
      assertThat(r.bodyText()).isEqualTo("The parent proxy refused the tunnel: 403\n");
    }
  }
}
