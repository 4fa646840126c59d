package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class HttpDutiesTest {

  private static RawUpstream echoUpstream(String extraResponseHeaders) throws Exception {
    return RawUpstream.start(c -> {
      while (c.readRequest() != null) {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + extraResponseHeaders + "\r\nok");
      }
    });
  }

  @Test
  void hopByHopFieldsAreRemovedInBothDirections() throws Exception {
    try (RawUpstream up = echoUpstream("Connection: X-Secret-Hop, keep-alive\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
            + "Proxy-Authenticate: Basic\r\nUpgrade: h2c\r\nTrailer: X-T\r\nX-End: kept\r\n");
         ProxyServer proxy = TestProxy.to(up.url())) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET /a HTTP/1.1\r\nHost: example.com\r\n"
          + "Connection: X-Client-Hop\r\nX-Client-Hop: secret\r\nKeep-Alive: 300\r\nProxy-Connection: keep-alive\r\n"
          + "TE: trailers\r\nTrailer: X-T\r\nUpgrade: websocket\r\nProxy-Authorization: Basic YTpi\r\nX-End: kept\r\n\r\n");

      RawUpstream.Request seen = up.nextRequest();
      assertThat(seen.headers).doesNotContainKeys("x-client-hop", "keep-alive", "proxy-connection", "te", "trailer",
          "upgrade", "proxy-authorization");
      assertThat(seen.header("connection")).isNull();
      assertThat(seen.header("x-end")).isEqualTo("kept");
      assertThat(seen.header("host")).isEqualTo("example.com");
      assertThat(r.status).isEqualTo(200);
      assertThat(r.headers).doesNotContainKeys("x-secret-hop", "keep-alive", "proxy-authenticate", "upgrade", "trailer");
      assertThat(r.header("x-end")).isEqualTo("kept");
    }
  }

  @Test
  void viaIsAddedInBothDirections() throws Exception {
    try (RawUpstream up = echoUpstream("Via: 1.1 origin-cache\r\n");
         ProxyServer proxy = TestProxy.to(up.url())) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\nVia: 1.0 client-proxy\r\n\r\n");

      assertThat(up.nextRequest().header("via")).isEqualTo("1.0 client-proxy, 1.1 gatehouse");
      assertThat(r.header("via")).isEqualTo("1.1 origin-cache, 1.1 gatehouse");
    }
  }

  @Test
  void viaCanBeTurnedOff() throws Exception {
    try (RawUpstream up = echoUpstream("");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).via(null).build().start()) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

      assertThat(up.nextRequest().header("via")).isNull();
      assertThat(r.header("via")).isNull();
    }
  }

  @Test
  void untrustedClientForwardedHeadersAreReplaced() throws Exception {
    try (RawUpstream up = echoUpstream("");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).forwardedHeaders(ForwardedHeaders.BOTH).build().start()) {
      RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 6.6.6.6\r\n"
          + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nX-Real-IP: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\n\r\n");

      RawUpstream.Request seen = up.nextRequest();
      assertThat(seen.headers("x-forwarded-for")).containsExactly("127.0.0.1");
      assertThat(seen.header("x-forwarded-proto")).isEqualTo("http");
      assertThat(seen.header("x-forwarded-host")).isEqualTo("shop.example");
      assertThat(seen.header("x-real-ip")).isEqualTo("127.0.0.1");
      assertThat(seen.headers("forwarded")).containsExactly("for=127.0.0.1;proto=http;host=shop.example");
    }
  }

  @Test
  void trustedProxyForwardedHeadersAreAppendedTo() throws Exception {
    try (RawUpstream up = echoUpstream("");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).forwardedHeaders(ForwardedHeaders.BOTH)
             .trustedProxies("127.0.0.0/8", "10.0.0.0/8").build().start()) {
      RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 203.0.113.7, 10.1.2.3\r\n"
          + "X-Forwarded-Proto: https\r\nForwarded: for=203.0.113.7;proto=https\r\n\r\n");

      RawUpstream.Request seen = up.nextRequest();
      assertThat(seen.header("x-forwarded-for")).isEqualTo("203.0.113.7, 10.1.2.3, 127.0.0.1");
      assertThat(seen.header("x-forwarded-proto")).isEqualTo("https");
      assertThat(seen.header("x-real-ip")).isEqualTo("203.0.113.7");
      assertThat(seen.header("forwarded")).isEqualTo("for=203.0.113.7;proto=https, for=127.0.0.1;proto=http;host=shop.example");
    }
  }

  @Test
  void forwardedHeadersNoneRemovesThemAll() throws Exception {
    try (RawUpstream up = echoUpstream("");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).forwardedHeaders(ForwardedHeaders.NONE).build().start()) {
      RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=x\r\n\r\n");

      RawUpstream.Request seen = up.nextRequest();
      assertThat(seen.headers).doesNotContainKeys("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "forwarded");
    }
  }

  @Test
  void optionsWithMaxForwardsZeroIsAnsweredByTheProxy() throws Exception {
    try (RawUpstream up = echoUpstream("");
         ProxyServer proxy = TestProxy.to(up.url())) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "OPTIONS * HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
      assertThat(r.header("allow")).contains("GET");
      assertThat(up.connections()).isZero();
    }
  }

  @Test
  void traceWithMaxForwardsZeroEchoesTheRequestWithoutCredentials() throws Exception {
    try (RawUpstream up = echoUpstream("");
         ProxyServer proxy = TestProxy.to(up.url())) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(),
          "TRACE /t HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0\r\nCookie: s=1\r\nX-Debug: yes\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
      assertThat(r.header("content-type")).isEqualTo("message/http");
      assertThat(r.bodyText()).startsWith("TRACE /t HTTP/1.1\r\n").contains("X-Debug: yes").doesNotContain("Cookie");
      assertThat(up.connections()).isZero();
    }
  }

  @Test
  void maxForwardsIsDecrementedWhenForwarded() throws Exception {
    try (RawUpstream up = echoUpstream("");
         ProxyServer proxy = TestProxy.to(up.url())) {
      RawHttp.exchange(proxy.port(), "OPTIONS /x HTTP/1.1\r\nHost: a\r\nMax-Forwards: 3\r\n\r\n");

      assertThat(up.nextRequest().header("max-forwards")).isEqualTo("2");
    }
  }

  @Test
  void exactlyOneHostIsForwarded() throws Exception {
    try (RawUpstream up = echoUpstream("");
         ProxyServer proxy = TestProxy.to(up.url())) {
      RawHttp.exchange(proxy.port(), "GET / HTTP/1.0\r\n\r\n");

      RawUpstream.Request seen = up.nextRequest();
      assertThat(seen.headers("host")).containsExactly("127.0.0.1:" + up.port());
    }
  }

  @Test
  void expectContinueIsRelayedFromTheUpstreamBeforeTheBody() throws Exception {
    try (RawUpstream up = RawUpstream.start(c -> {
          RawUpstream.Request head = c.readRequest(false);
          c.write("HTTP/1.1 100 Continue\r\n\r\n");
          c.readBody(head);
          c.write("HTTP/1.1 201 Created\r\nContent-Length: " + head.body.length + "\r\n\r\n" + head.bodyText());
        });
         ProxyServer proxy = TestProxy.to(up.url());
         RawHttp client = RawHttp.connect(proxy.port())) {
      client.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
      RawHttp.Response interim = client.readResponse();
      assertThat(interim.status).isEqualTo(100);

      client.send("hello");
      RawHttp.Response r = client.readResponse();

      assertThat(r.status).isEqualTo(201);
      assertThat(r.bodyText()).isEqualTo("hello");
      assertThat(up.nextRequest().header("expect")).isEqualTo("100-continue");
    }
  }

  @Test
  void earlyHintsAreForwardedBeforeTheFinalResponse() throws Exception {
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          c.write("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"
              + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nLink: </style.css>; rel=preload\r\n\r\npage");
        });
         ProxyServer proxy = TestProxy.to(up.url());
         RawHttp client = RawHttp.connect(proxy.port())) {
      client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

      RawHttp.Response hints = client.readResponse();
      RawHttp.Response page = client.readResponse();

      assertThat(hints.status).isEqualTo(103);
      assertThat(hints.header("link")).isEqualTo("</style.css>; rel=preload; as=style");
      assertThat(page.status).isEqualTo(200);
      assertThat(page.bodyText()).isEqualTo("page");
    }
  }

  @Test
  void earlyHintsAreNotSentToHttp10Clients() throws Exception {
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          c.write("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npage");
        });
         ProxyServer proxy = TestProxy.to(up.url())) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.0\r\nHost: a\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("page");
    }
  }
}
