package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Which tunnels are intercepted, what may travel inside them, and how they are logged. */
@Timeout(60)
class InterceptPolicyTest {

  @BeforeAll
  static void cas() throws Exception {
    InterceptTest.originCa();
  }

  /** CONNECT {@code target}, then TLS with {@code sni} (null: none) trusting {@code trust}. */
  static SSLSocket tunnel(ProxyServer proxy, String target, String sni, SSLContext trust) throws Exception {
    RawHttp c = RawHttp.connect(proxy.port());
    c.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
    assertThat(c.readResponse(true).status).isEqualTo(200);
    Socket raw = c.socket();
    SSLSocket tls = (SSLSocket) trust.getSocketFactory().createSocket(raw, raw.getInetAddress().getHostAddress(),
        raw.getPort(), true);
    SSLParameters p = tls.getSSLParameters();
    p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
    p.setEndpointIdentificationAlgorithm(null); // the test checks the certificate itself
    tls.setSSLParameters(p);
    tls.setSoTimeout(10_000);
    tls.startHandshake();
    return tls;
  }

  static String request(SSLSocket tls, String host, String path) throws Exception {
    tls.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    return new String(tls.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
  }

  static X509Certificate peer(SSLSocket tls) throws Exception {
    return (X509Certificate) tls.getSession().getPeerCertificates()[0];
  }

  @Test
  void aBypassedHostGetsTheOriginsOwnCertificateUntouched() throws Exception {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", false)) {
      try (ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()
              .policy(InterceptionPolicy.interceptAll().bypass("origin.test")))
          .accessLog(AccessLog.sink(lines::add, AccessLog.Format.JSON_LINES)).build().start()) {
        HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .sslContext(InterceptTest.originCa.trustingContext()) // the origin's CA only, not the proxy's
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxy.port())))
            .connectTimeout(Duration.ofSeconds(5))
            .build();

        HttpResponse<String> r = client.send(Fwd.get("https://origin.test:" + origin.port() + "/private").build(),
            HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(InterceptTest.peer(r)).isEqualTo(origin.certificate);
        assertThat(origin.next().headers()).doesNotContainKey("via"); // the request passed unread
      }
    }
    assertThat(lines.poll(10, TimeUnit.SECONDS)).contains("\"method\":\"CONNECT\"",
        "tls not intercepted (bypass origin.test)");
    assertThat(lines).isEmpty();
  }

  @Test
  void theServerNameCanBypassATunnelToAnAddress() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "bank.test", false);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()
             .policy(InterceptionPolicy.interceptAll().bypass("*.test"))).build().start();
         SSLSocket tls = tunnel(proxy, "127.0.0.1:" + origin.port(), "bank.test",
             InterceptTest.originCa.trustingContext())) {
      assertThat(peer(tls)).isEqualTo(origin.certificate);
      assertThat(request(tls, "bank.test", "/balance")).startsWith("HTTP/1.1 200").endsWith("hello /balance over HTTP/1.1");
    }
  }

  @Test
  void anIpLiteralTargetGetsACertificateForTheAddress() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "127.0.0.1", false);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      HttpResponse<String> r = InterceptTest.client(proxy, HttpClient.Version.HTTP_1_1)
          .send(Fwd.get("https://127.0.0.1:" + origin.port() + "/by-address").build(),
              HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("hello /by-address over HTTP/1.1");
      assertThat(TestOrigin.san(InterceptTest.peer(r))).containsExactly(7, "127.0.0.1");
      assertThat(InterceptTest.peer(r).getIssuerX500Principal())
          .isEqualTo(InterceptTest.CA.certificate().getSubjectX500Principal());
      assertThat(origin.next().serverName()).isNull(); // no SNI for an address
    }
  }

  @Test
  void aHostOtherThanTheTunnelsIsMisdirected() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", false);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      String target = "origin.test:" + origin.port();
      try (SSLSocket tls = tunnel(proxy, target, "origin.test", ours())) {
        assertThat(request(tls, "victim.test:" + origin.port(), "/")).startsWith("HTTP/1.1 421 ")
            .endsWith("Misdirected Request: this connection is for " + target + ", not victim.test:" + origin.port()
                + "\n");
      }
      try (SSLSocket tls = tunnel(proxy, target, "origin.test", ours())) {
        assertThat(request(tls, "origin.test", "/")).startsWith("HTTP/1.1 421 "); // port 443 is not the tunnel's
      }
      // the SNI names another site than the CONNECT: no Host can satisfy both
      try (SSLSocket tls = tunnel(proxy, target, "victim.test", ours())) {
        assertThat(TestOrigin.san(peer(tls))).containsExactly(2, "victim.test");
        assertThat(request(tls, target, "/")).startsWith("HTTP/1.1 421 ")
            .contains("this connection is for " + target + " (TLS server name victim.test)");
      }
      try (SSLSocket tls = tunnel(proxy, target, "origin.test", ours())) {
        assertThat(request(tls, "ORIGIN.test:" + origin.port(), "/ok")).startsWith("HTTP/1.1 200 ");
      }
      assertThat(origin.next().path()).isEqualTo("/ok");
      assertThat(origin.received).isEmpty();
    }
  }

  @Test
  void aSecondConnectionToAHostReusesTheMintedCertificate() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", false);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      String target = "origin.test:" + origin.port();
      X509Certificate first;
      try (SSLSocket tls = tunnel(proxy, target, "origin.test", ours())) {
        first = peer(tls);
      }
      try (SSLSocket tls = tunnel(proxy, target, "origin.test", ours())) {
        assertThat(peer(tls)).isEqualTo(first); // same serial, same signature: not minted again
      }
      try (SSLSocket tls = tunnel(proxy, target, "other.test", ours())) {
        assertThat(peer(tls).getSerialNumber()).isNotEqualTo(first.getSerialNumber());
        assertThat(peer(tls).getPublicKey()).isEqualTo(first.getPublicKey()); // one key pair for every host
      }
    }
  }

  @Test
  void nonTlsBytesInAnInterceptedTunnelAreRefusedByDefault() throws Exception {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    try (TcpPeer dest = new TcpPeer(s -> dest0(s))) {
      try (ProxyServer proxy = Fwd.builder()
          .egress(Fwd.allowLoopback(dest.port()))
          .intercept(InterceptTest.interception().build())
          .accessLog(AccessLog.sink(lines::add, AccessLog.Format.JSON_LINES)).build().start();
           RawHttp c = RawHttp.connect(proxy.port())) {
        c.send("CONNECT 127.0.0.1:" + dest.port() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        assertThat(c.readResponse(true).status).isEqualTo(200);
        c.send("PING\r\n");
        assertThat(c.socket().getInputStream().read()).isEqualTo(-1); // closed, nothing relayed
        assertThat(lines.poll(10, TimeUnit.SECONDS)).contains("\"method\":\"CONNECT\"", "not TLS, refused");
      }
      assertThat(dest.results).isEmpty();
    }
  }

  private static void dest0(Socket s) throws Exception {
    InputStream in = s.getInputStream();
    byte[] ping = in.readNBytes(6);
    s.getOutputStream().write(("PONG " + new String(ping, StandardCharsets.US_ASCII).trim() + "\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
  }

  @Test
  void nonTlsBytesPassUnreadWhenThePolicySaysTunnel() throws Exception {
    try (TcpPeer dest = new TcpPeer(InterceptPolicyTest::dest0);
         ProxyServer proxy = Fwd.builder()
             .egress(Fwd.allowLoopback(dest.port()))
             .intercept(InterceptTest.interception().nonTls(TlsInterception.NonTls.TUNNEL).build()).build().start();
         RawHttp c = RawHttp.connect(proxy.port())) {
      c.send("CONNECT 127.0.0.1:" + dest.port() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      assertThat(c.readResponse(true).status).isEqualTo(200);
      c.send("PING\r\n");
      byte[] answer = c.socket().getInputStream().readNBytes(10);
      assertThat(new String(answer, StandardCharsets.US_ASCII)).isEqualTo("PONG PING\r\n".substring(0, 10));
    }
  }

  @Test
  void aServerThatSpeaksFirstIsReachedOnceTheClientStaysSilent() throws Exception {
    try (TcpPeer dest = new TcpPeer(s -> {
           s.getOutputStream().write("220 smtp ready\r\n".getBytes(StandardCharsets.US_ASCII));
           s.getOutputStream().flush();
           s.getInputStream().read();
         });
         ProxyServer proxy = Fwd.builder()
             .requestHeaderTimeout(Duration.ofMillis(200))
             .egress(Fwd.allowLoopback(dest.port()))
             .intercept(InterceptTest.interception().nonTls(TlsInterception.NonTls.TUNNEL).build()).build().start();
         RawHttp c = RawHttp.connect(proxy.port())) {
      c.send("CONNECT 127.0.0.1:" + dest.port() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      assertThat(c.readResponse(true).status).isEqualTo(200);
      byte[] banner = c.socket().getInputStream().readNBytes(16);
      assertThat(new String(banner, StandardCharsets.US_ASCII)).isEqualTo("220 smtp ready\r\n");
    }
  }

  @Test
  void aMalformedClientHelloIsRefused() throws Exception {
    try (TcpPeer dest = new TcpPeer(InterceptPolicyTest::dest0);
         ProxyServer proxy = Fwd.builder()
             .egress(Fwd.allowLoopback(dest.port()))
             .intercept(InterceptTest.interception().nonTls(TlsInterception.NonTls.TUNNEL).build()).build().start();
         RawHttp c = RawHttp.connect(proxy.port())) {
      c.send("CONNECT 127.0.0.1:" + dest.port() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      assertThat(c.readResponse(true).status).isEqualTo(200);
      // a TLS handshake record holding a ServerHello (type 2), not a ClientHello
      c.send(new byte[] {22, 3, 1, 0, 4, 2, 0, 0, 0});
      assertThat(c.socket().getInputStream().read()).isEqualTo(-1);
      assertThat(dest.results).isEmpty();
    }
  }

  @Test
  void theEgressPolicyDecidesEachDecryptedRequestAgain() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", false)) {
      EgressPolicy open = EgressPolicy.allowPublic().allowAddresses("127.0.0.1").allowConnectPorts(origin.port());
      java.util.concurrent.atomic.AtomicReference<EgressPolicy> rules = new java.util.concurrent.atomic.AtomicReference<>(open);
      try (ProxyServer proxy = Fwd.builder()
               .resolver(host -> List.of(java.net.InetAddress.getLoopbackAddress()))
               .egress(rules::get)
               .intercept(InterceptTest.interception().build()).build().start();
           SSLSocket tls = tunnel(proxy, "origin.test:" + origin.port(), "origin.test", ours())) {
        String head = "GET /%s HTTP/1.1\r\nHost: origin.test:" + origin.port() + "\r\n\r\n";
        tls.getOutputStream().write(String.format(head, "first").getBytes(StandardCharsets.US_ASCII));
        RawHttp.Response first = readResponse(tls);
        assertThat(first.status).isEqualTo(200);

        rules.set(EgressPolicy.denyAll()); // takes effect with the next request, in the same tunnel
        tls.getOutputStream().write(String.format(head, "second").getBytes(StandardCharsets.US_ASCII));
        RawHttp.Response second = readResponse(tls);

        assertThat(second.status).isEqualTo(403);
        assertThat(new String(second.body, StandardCharsets.UTF_8)).isEqualTo("Forbidden by egress policy: default deny "
            + "loopback 127.0.0.0/8\n");
        assertThat(origin.next().path()).isEqualTo("/first");
        assertThat(origin.received).isEmpty();
      }
    }
  }

  /** One response with a Content-Length from a TLS socket. */
  static RawHttp.Response readResponse(SSLSocket tls) throws Exception {
    java.io.InputStream in = tls.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new java.io.EOFException("closed after " + head);
      }
      head.append((char) b);
    }
    RawHttp.Response r = new RawHttp.Response();
    r.statusLine = head.substring(0, head.indexOf("\r\n"));
    r.status = Integer.parseInt(r.statusLine.substring(9, 12));
    int length = 0;
    for (String line : head.toString().split("\r\n")) {
      if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    r.body = in.readNBytes(length);
    return r;
  }

  /** A client context trusting the interception CA. */
  static SSLContext ours() throws Exception {
    return TestOrigin.trusting(InterceptTest.CA.certificate());
  }
}
