package dev.gatehouse.proxy.forward;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ForwardProxyTest {
  static WireMockServer origin;

  @BeforeAll
  static void startOrigin() {
    origin = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
    origin.start();
    origin.stubFor(any(anyUrl()).willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/plain")
        .withBody("hello from origin")));
  }

  @AfterAll
  static void stopOrigin() {
    origin.stop();
  }

  private String originUrl(String path) {
    return "http://127.0.0.1:" + origin.port() + path;
  }

  @Test
  void absoluteFormRequestReachesTheDestinationWithViaAndWithoutProxyCredentials() throws Exception {
    try (ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port())))) {
      HttpClient client = Fwd.client(proxy);
      HttpResponse<String> r = Fwd.send(client, Fwd.get(originUrl("/hello?x=1"))
          .header("Proxy-Authorization", "Basic c2VjcmV0OnNlY3JldA==").build());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("hello from origin");
      assertThat(r.headers().firstValue("via")).hasValue("1.1 gatehouse");
      List<LoggedRequest> seen = origin.findAll(getRequestedFor(urlEqualTo("/hello?x=1")));
      assertThat(seen).hasSize(1);
      assertThat(seen.get(0).getHeader("Via")).isEqualTo("1.1 gatehouse");
      assertThat(seen.get(0).containsHeader("Proxy-Authorization")).isFalse();
      assertThat(seen.get(0).getHeader("Host")).isEqualTo("127.0.0.1:" + origin.port());
      assertThat(seen.get(0).getHeader("X-Forwarded-For")).isEqualTo("127.0.0.1");
    }
  }

  @Test
  void requestIsSentInOriginFormWithHostFromTheTarget() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port())))) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + up.port()
          + "/a?b=c HTTP/1.1\r\nHost: 127.0.0.1\r\nProxy-Connection: keep-alive\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
      RawUpstream.Request seen = up.nextRequest();
      assertThat(seen.requestLine).isEqualTo("GET /a?b=c HTTP/1.1");
      assertThat(seen.header("host")).isEqualTo("127.0.0.1:" + up.port());
      assertThat(seen.header("proxy-connection")).isNull();
    }
  }

  @Test
  void aHostHeaderContradictingTheTargetIsRefused() throws Exception {
    // Undertow refuses it before the proxy sees it; RFC 9112 would let a proxy ignore Host, refusing is safer.
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port())))) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + up.port()
          + "/a HTTP/1.1\r\nHost: evil.example\r\n\r\n");

      assertThat(r.status).isEqualTo(400);
      assertThat(up.connections()).isZero();
    }
  }

  @Test
  void requestBodiesStreamThroughIntactInBothDirections() throws Exception {
    byte[] body = new byte[3 * 1024 * 1024 + 17];
    new Random(7).nextBytes(body);
    try (RawUpstream up = RawUpstream.start(c -> {
           RawUpstream.Request req;
           while ((req = c.readRequest()) != null) {
             byte[] digest = MessageDigest.getInstance("SHA-256").digest(req.body);
             byte[] echo = req.body;
             c.write(("HTTP/1.1 200 OK\r\nX-Sha: " + HexFormat.of().formatHex(digest) + "\r\nContent-Length: "
                 + echo.length + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
             c.write(echo);
           }
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port())))) {
      HttpResponse<byte[]> r = Fwd.client(proxy).send(Fwd.get("http://127.0.0.1:" + up.port() + "/upload")
          .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-sha"))
          .hasValue(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body)));
      assertThat(r.body()).isEqualTo(body);
    }
  }

  @Test
  void connectionsToADestinationAreKeptAliveAndReused() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port())))) {
      HttpClient client = Fwd.client(proxy);
      for (int i = 0; i < 5; i++) {
        assertThat(Fwd.send(client, Fwd.get("http://127.0.0.1:" + up.port() + "/" + i).build()).body()).isEqualTo("ok");
      }
      assertThat(up.connections()).isEqualTo(1);
    }
  }

  @Test
  void everyMethodIsForwarded() throws Exception {
    try (ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port())))) {
      HttpClient client = Fwd.client(proxy);
      for (String method : List.of("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")) {
        HttpResponse<String> r = Fwd.send(client, Fwd.get(originUrl("/m/" + method))
            .method(method, HttpRequest.BodyPublishers.ofString("b")).build());
        assertThat(r.statusCode()).as(method).isEqualTo(200);
      }
      HttpResponse<String> head = Fwd.send(client, Fwd.get(originUrl("/m/HEAD"))
          .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
      assertThat(head.statusCode()).isEqualTo(200);
      assertThat(head.body()).isEmpty();
    }
  }

  @Test
  void originFormRequestIsRefusedWith400() throws Exception {
    try (ProxyServer proxy = Fwd.start(Fwd.builder())) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n");

      assertThat(r.status).isEqualTo(400);
      assertThat(r.bodyText()).isEqualTo("Bad Request: request target /index.html is not an absolute URI "
          + "(expected: absolute-form such as http://example.com/; this is a forward proxy)\n");
    }
  }

  @Test
  void malformedRequestTargetsAreRefusedWith400() throws Exception {
    try (ProxyServer proxy = Fwd.start(Fwd.builder())) {
      assertThat(badTarget(proxy, "GET http://example.com:99999/ HTTP/1.1", "example.com"))
          .isEqualTo("Bad Request: invalid port in request target http://example.com:99999/ "
              + "(expected: http://host[:port]/path)\n");
      assertThat(badTarget(proxy, "GET http://a..b/ HTTP/1.1", "a..b"))
          .isEqualTo("Bad Request: invalid host in request target http://a..b/ (expected: http://host[:port]/path)\n");
      assertThat(badTarget(proxy, "GET ftp://example.com/file HTTP/1.1", "example.com"))
          .isEqualTo("Bad Request: unsupported scheme ftp in ftp://example.com/file "
              + "(expected: http; https goes through a CONNECT tunnel)\n");
      assertThat(badTarget(proxy, "CONNECT /path HTTP/1.1", "path"))
          .isEqualTo("Bad Request: CONNECT target /path (expected: host:port)\n");
      // These Undertow's own parser refuses (400, empty body) before the proxy sees them.
      assertThat(badTarget(proxy, "GET http://user:pw@example.com/ HTTP/1.1", "example.com")).isEmpty();
      assertThat(badTarget(proxy, "CONNECT example.com HTTP/1.1", "example.com")).isEmpty();
      assertThat(badTarget(proxy, "GET http:/x HTTP/1.1", "x")).isEmpty();
      assertThat(badTarget(proxy, "GET http:///x HTTP/1.1", "x")).isEmpty();
    }
  }

  private static String badTarget(ProxyServer proxy, String requestLine, String host) throws Exception {
    RawHttp.Response r = RawHttp.exchange(proxy.port(), requestLine + "\r\nHost: " + host + "\r\n\r\n");
    assertThat(r.status).as(requestLine).isEqualTo(400);
    return r.bodyText();
  }
}
