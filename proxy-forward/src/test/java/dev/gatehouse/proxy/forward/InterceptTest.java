package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.BodyTransformers;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** TLS interception end to end: real clients, a real TLS origin with a CA of its own, the proxy in between. */
@Timeout(60)
class InterceptTest {
  static final CertificateAuthority CA = CertificateAuthority.generate("Gatehouse test interception CA");
  static TestOrigin.Ca originCa;

  @BeforeAll
  static void originCa() throws Exception {
    originCa = new TestOrigin.Ca("Origin test CA");
  }

  /** Every name resolves to loopback; loopback on the origin's port is allowed, for plain requests and CONNECT. */
  static ForwardProxyBuilder proxy(TestOrigin origin, TlsInterception.Builder interception) {
    return Fwd.builder()
        .resolver(host -> List.of(InetAddress.getLoopbackAddress()))
        .egress(EgressPolicy.allowPublic().allowAddresses("127.0.0.1").allowConnectPorts(origin.port()))
        .intercept(interception.build());
  }

  static TlsInterception.Builder interception() {
    return TlsInterception.builder(CA).addUpstreamTrustPem(originCa.pem);
  }

  static HttpClient client(ProxyServer proxy, HttpClient.Version version) throws Exception {
    return HttpClient.newBuilder()
        .version(version)
        .sslContext(TestOrigin.trusting(CA.certificate()))
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxy.port())))
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  static X509Certificate peer(HttpResponse<?> r) throws Exception {
    return (X509Certificate) r.sslSession().orElseThrow().getPeerCertificates()[0];
  }

  @Test
  void jdkClientGetsTheOriginsAnswerThroughACertificateForTheHostIssuedByTheCa() throws Exception {
    BlockingQueue<String> seen = new LinkedBlockingQueue<>();
    Filter record = (exchange, chain) -> {
      seen.add(exchange.request().method() + " " + exchange.request().scheme() + "://"
          + exchange.request().authority() + exchange.request().pathAndQuery());
      return chain.proceed();
    };
    try (TestOrigin origin = new TestOrigin(originCa, "origin.test", false);
         ProxyServer proxy = proxy(origin, interception()).addFilter(record).build().start()) {
      String url = "https://origin.test:" + origin.port() + "/hello?x=1";

      HttpResponse<String> r = client(proxy, HttpClient.Version.HTTP_1_1)
          .send(Fwd.get(url).build(), HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("hello /hello over HTTP/1.1");
      X509Certificate cert = peer(r);
      assertThat(TestOrigin.san(cert)).containsExactly(2, "origin.test");
      assertThat(cert.getIssuerX500Principal()).isEqualTo(CA.certificate().getSubjectX500Principal());
      assertThat(seen.poll(5, TimeUnit.SECONDS)).isEqualTo("CONNECT http://origin.test:" + origin.port());
      assertThat(seen.poll(5, TimeUnit.SECONDS)).isEqualTo("GET https://origin.test:" + origin.port() + "/hello?x=1");
      TestOrigin.Received got = origin.next();
      assertThat(got.path()).isEqualTo("/hello?x=1");
      assertThat(got.serverName()).isEqualTo("origin.test");
      assertThat(got.headers()).containsEntry("host", "origin.test:" + origin.port())
          .containsEntry("via", "1.1 gatehouse")
          .containsKey("x-forwarded-for");
    }
  }

  @Test
  void curlTrustingOnlyTheCaGetsTheOriginsAnswerWithACertificateForTheHost() throws Exception {
    ExternalClients.assumeCurl();
    try (TestOrigin origin = new TestOrigin(originCa, "origin.test", false);
         ProxyServer proxy = proxy(origin, interception()).build().start()) {
      ExternalClients.Result r = ExternalClients.curl(proxy.port(), ExternalClients.pemFile(CA.certificatePem()),
          "https://origin.test:" + origin.port() + "/from-curl", "--http1.1");

      assertThat(r.exit()).as(r.err()).isZero();
      assertThat(r.out()).isEqualTo("hello /from-curl over HTTP/1.1");
      assertThat(r.err()).contains("subject: CN=origin.test", "issuer: CN=Gatehouse test interception CA",
          "subjectAltName: host \"origin.test\" matched cert's \"origin.test\"");
      assertThat(origin.next().serverName()).isEqualTo("origin.test");
    }
  }

  @Test
  void pythonRequestsVerifyingWithTheCaGetsTheOriginsAnswer() throws Exception {
    ExternalClients.assumePythonRequests();
    try (TestOrigin origin = new TestOrigin(originCa, "origin.test", false);
         ProxyServer proxy = proxy(origin, interception()).build().start()) {
      // verify= with only our CA: success means the certificate names origin.test and chains to the CA
      ExternalClients.Result r = ExternalClients.pythonRequests(proxy.port(),
          ExternalClients.pemFile(CA.certificatePem()), "https://origin.test:" + origin.port() + "/from-python");

      assertThat(r.exit()).as(r.err()).isZero();
      assertThat(r.out()).isEqualTo("200\nhello /from-python over HTTP/1.1\n");
      assertThat(origin.next().headers()).containsEntry("host", "origin.test:" + origin.port());
    }
  }

  @Test
  void clientsThatDoNotTrustTheCaAreRefusedByTheirOwnTlsStack() throws Exception {
    ExternalClients.assumeCurl();
    try (TestOrigin origin = new TestOrigin(originCa, "origin.test", false);
         ProxyServer proxy = proxy(origin, interception()).build().start()) {
      // trusting the origin's own CA is not enough: the client sees the proxy's certificate
      ExternalClients.Result r = ExternalClients.curl(proxy.port(), originCa.pem,
          "https://origin.test:" + origin.port() + "/", "--http1.1");

      assertThat(r.exit()).isEqualTo(60); // CURLE_PEER_FAILED_VERIFICATION
      assertThat(origin.received).isEmpty();
    }
  }

  @Test
  void aFilterChangesTheDecryptedResponse() throws Exception {
    Filter shout = (exchange, chain) -> chain.proceed().thenApply(response -> {
      if (exchange.request().scheme().equals("https")) {
        response.headers().set("X-Inspected", exchange.request().authority());
        response.transformBody(BodyTransformers.aggregate(1 << 20,
            b -> new String(b, StandardCharsets.UTF_8).toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8)));
      }
      return response;
    });
    try (TestOrigin origin = new TestOrigin(originCa, "origin.test", false);
         ProxyServer proxy = proxy(origin, interception()).addFilter(shout).build().start()) {
      HttpResponse<String> r = client(proxy, HttpClient.Version.HTTP_1_1)
          .send(Fwd.get("https://origin.test:" + origin.port() + "/quiet").build(), HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("HELLO /QUIET OVER HTTP/1.1");
      assertThat(r.headers().firstValue("X-Inspected")).contains("origin.test:" + origin.port());
    }
  }

  @Test
  void eachDecryptedRequestGetsAnAccessLogLineAndTheTunnelOneWhenItEnds() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    try (TestOrigin origin = new TestOrigin(originCa, "origin.test", false)) {
      ProxyServer proxy = proxy(origin, interception())
          .proxyAuthentication("test", ProxyAuthenticator.users(Map.of("alice", "secret")))
          .accessLog(AccessLog.sink(lines::add, AccessLog.Format.JSON_LINES))
          .build().start();
      try {
        String auth = "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
        try (RawHttp c = RawHttp.connect(proxy.port())) {
          c.send("CONNECT origin.test:" + origin.port() + " HTTP/1.1\r\nHost: origin.test:" + origin.port()
              + "\r\nProxy-Authorization: " + auth + "\r\n\r\n");
          assertThat(c.readResponse(true).status).isEqualTo(200);
          javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) TestOrigin.trusting(CA.certificate()).getSocketFactory()
              .createSocket(c.socket(), "origin.test", origin.port(), true);
          tls.getOutputStream().write(("GET /a HTTP/1.1\r\nHost: origin.test:" + origin.port() + "\r\n\r\n"
              + "GET /b HTTP/1.1\r\nHost: origin.test:" + origin.port() + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          String both = new String(tls.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
          assertThat(both).contains("hello /a over HTTP/1.1", "hello /b over HTTP/1.1");
        }
      } finally {
        proxy.close();
      }
    }
    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).contains("\"user\":\"alice\"", "\"method\":\"GET\"", "\"scheme\":\"https\"",
        "\"host\":\"origin.test\"", "\"path\":\"/a\"", "\"status\":200", "\"decision\":\"allow\"");
    assertThat(lines.get(1)).contains("\"path\":\"/b\"", "\"status\":200");
    assertThat(lines.get(2)).contains("\"method\":\"CONNECT\"", "\"user\":\"alice\"", "\"status\":200",
        "tls intercepted");
  }

  @Test
  void aLargeBodyCrossesTheInterceptedTunnelBothWays() throws Exception {
    try (TestOrigin origin = new TestOrigin(originCa, "origin.test", false);
         ProxyServer proxy = proxy(origin, interception()).build().start()) {
      byte[] body = new byte[3 * 1024 * 1024 + 17];
      new java.util.Random(7).nextBytes(body);
      HttpResponse<byte[]> r = client(proxy, HttpClient.Version.HTTP_1_1).send(
          Fwd.get("https://origin.test:" + origin.port() + "/echo")
              .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body)).build(),
          HttpResponse.BodyHandlers.ofByteArray());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(body);
    }
  }

  @Test
  void aWebSocketWorksInsideAnInterceptedTunnel() throws Exception {
    try (TestOrigin origin = new TestOrigin(originCa, "origin.test", false);
         ProxyServer proxy = proxy(origin, interception()).build().start()) {
      BlockingQueue<String> received = new LinkedBlockingQueue<>();
      java.net.http.WebSocket ws = client(proxy, HttpClient.Version.HTTP_1_1).newWebSocketBuilder()
          .buildAsync(java.net.URI.create("wss://origin.test:" + origin.port() + "/ws"),
              new java.net.http.WebSocket.Listener() {
                @Override
                public java.util.concurrent.CompletionStage<?> onText(java.net.http.WebSocket w, CharSequence data,
                    boolean last) {
                  received.add(data.toString());
                  w.request(1);
                  return null;
                }
              }).get(10, TimeUnit.SECONDS);

      ws.sendText("ping", true).get(10, TimeUnit.SECONDS);

      assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("echo ping");
      ws.sendClose(java.net.http.WebSocket.NORMAL_CLOSURE, "done").get(10, TimeUnit.SECONDS);
    }
  }

  /**
   * The decrypted leg refuses a client's TLS 1.2 renegotiation and closes the tunnel, as the listener
   * does (with the JDK's TLS and with Conscrypt): a renegotiation is handshake CPU the client gets for free.
   */
  @Test
  void aClientsRenegotiationInsideAnInterceptedTunnelClosesIt() throws Exception {
    try (TestOrigin origin = new TestOrigin(originCa, "origin.test", false)) {
      ProxyServer proxy = proxy(origin, interception()).build().start();
      try (RawHttp c = RawHttp.connect(proxy.port())) {
        c.send("CONNECT origin.test:" + origin.port() + " HTTP/1.1\r\nHost: origin.test:" + origin.port() + "\r\n\r\n");
        assertThat(c.readResponse(true).status).isEqualTo(200);
        javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) TestOrigin.trusting(CA.certificate()).getSocketFactory()
            .createSocket(c.socket(), "origin.test", origin.port(), true);
        tls.setEnabledProtocols(new String[] {"TLSv1.2"});
        tls.setSoTimeout(20_000);
        RawHttp inside = RawHttp.over(tls);
        inside.send("GET /a HTTP/1.1\r\nHost: origin.test:" + origin.port() + "\r\n\r\n");
        assertThat(inside.readResponse().bodyText()).contains("hello /a over HTTP/1.1");

        tls.startHandshake(); // on an established connection: sends the ClientHello and returns
        int next;
        try {
          inside.send("GET /b HTTP/1.1\r\nHost: origin.test:" + origin.port() + "\r\n\r\n");
          next = inside.input().read();
        } catch (java.net.SocketTimeoutException hung) {
          throw new AssertionError("the tunnel hangs after the renegotiation", hung);
        } catch (java.io.IOException closed) {
          next = -1;
        }
        assertThat(next).as("closed, /b not served").isEqualTo(-1);
      } finally {
        proxy.close();
      }
    }
  }
}
