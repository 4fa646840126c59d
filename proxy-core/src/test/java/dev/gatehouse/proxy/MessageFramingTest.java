package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Responses without bodies, HTTP/1.0 clients and raw targets keep their meaning through the proxy. */
@Timeout(30)
class MessageFramingTest {

  private static RawUpstream respondingWith(String response) throws Exception {
    return RawUpstream.start(c -> {
      while (c.readRequest() != null) {
        c.write(response);
      }
    });
  }

  @Test
  void headResponseKeepsItsContentLengthAndHasNoBody() throws Exception {
    try (RawUpstream up = respondingWith("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
         ProxyServer proxy = TestProxy.to(up.url());
         RawHttp client = RawHttp.connect(proxy.port())) {
      client.send("HEAD /file HTTP/1.1\r\nHost: a\r\n\r\n");
      RawHttp.Response r = client.readResponse(true);
      client.send("HEAD /file HTTP/1.1\r\nHost: a\r\n\r\n");
      RawHttp.Response again = client.readResponse(true);

      assertThat(r.status).isEqualTo(200);
      assertThat(r.header("content-length")).isEqualTo("1234");
      assertThat(again.status).isEqualTo(200);
      assertThat(up.connections()).isEqualTo(1);
    }
  }

  @Test
  void noContentAndNotModifiedCarryNoBodyAndKeepTheConnection() throws Exception {
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          c.write("HTTP/1.1 204 No Content\r\n\r\n");
          c.readRequest();
          c.write("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n");
          c.readRequest();
          c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).ioThreads(1).build().start();
         RawHttp client = RawHttp.connect(proxy.port())) {
      client.send("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n");
      RawHttp.Response noContent = client.readResponse();
      client.send("GET /x HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"v1\"\r\n\r\n");
      RawHttp.Response notModified = client.readResponse();
      client.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
      RawHttp.Response ok = client.readResponse();

      assertThat(noContent.status).isEqualTo(204);
      assertThat(notModified.status).isEqualTo(304);
      assertThat(notModified.header("etag")).isEqualTo("\"v1\"");
      assertThat(ok.bodyText()).isEqualTo("ok");
      assertThat(up.connections()).isEqualTo(1);
    }
  }

  @Test
  void chunkedUpstreamResponseReachesAnHttp10ClientWholeAndUnchunked() throws Exception {
    try (RawUpstream up = respondingWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
         ProxyServer proxy = TestProxy.to(up.url())) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.0\r\nHost: a\r\n\r\n");

      assertThat(r.statusLine).startsWith("HTTP/1.0 200");
      assertThat(r.header("transfer-encoding")).isNull();
      assertThat(r.bodyText()).isEqualTo("hello world");
      assertThat(r.truncated).isFalse();
    }
  }

  @Test
  void rawPathAndQueryAreForwardedWithoutReencoding() throws Exception {
    try (RawUpstream up = respondingWith("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
         ProxyServer proxy = TestProxy.to(up.url())) {
      RawHttp.exchange(proxy.port(), "GET /a%2Fb/c%20d?q=%26x%3D1&e=%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n");

      assertThat(up.nextRequest().requestLine).isEqualTo("GET /a%2Fb/c%20d?q=%26x%3D1&e=%C3%A9 HTTP/1.1");
    }
  }

  @Test
  void upstreamRefusingAnExpectContinueRequestIsPassedOnAndTheBodyIsNotSent() throws Exception {
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest(false);
          c.write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\n\r\nsorry!");
        });
         ProxyServer proxy = TestProxy.to(up.url());
         RawHttp client = RawHttp.connect(proxy.port())) {
      client.send("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n");

      RawHttp.Response r = client.readResponse();

      assertThat(r.status).isEqualTo(401);
      assertThat(r.bodyText()).isEqualTo("sorry!");
      assertThat(client.isClosedByPeer()).isTrue();
    }
  }

  @Test
  void requestBodyOfKnownLengthKeepsItsContentLengthUpstream() throws Exception {
    try (RawUpstream up = respondingWith("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
         ProxyServer proxy = TestProxy.to(up.url())) {
      RawHttp.exchange(proxy.port(), "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world");

      RawUpstream.Request seen = up.nextRequest();
      assertThat(seen.header("content-length")).isEqualTo("11");
      assertThat(seen.header("transfer-encoding")).isNull();
      assertThat(seen.bodyText()).isEqualTo("hello world");
    }
  }
}
