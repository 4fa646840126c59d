package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.IOException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Requests that must be refused and never forwarded. Each goes over a raw socket; the upstream counts
 * what reached it.
 */
@Timeout(30)
class MalformedRequestTest {
  private RawUpstream upstream;
  private ProxyServer proxy;

  @BeforeEach
  void start() throws IOException {
    upstream = RawUpstream.start(c -> {
      RawUpstream.Request r;
      while ((r = c.readRequest()) != null) {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: " + r.body.length + "\r\n\r\n" + r.bodyText());
      }
    });
    proxy = TestProxy.builder().upstream(upstream.url())
        .maxRequestLineLength(1024).maxHeaderBytes(4096).maxHeaderCount(20).maxRequestBodySize(1000)
        .build().start();
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    upstream.close();
  }

  private RawHttp.Response send(String raw) throws IOException {
    return RawHttp.exchange(proxy.port(), raw);
  }

  private void assertRefused(String raw, int status) throws IOException {
    RawHttp.Response r = send(raw);
    assertThat(r.status).as(r.toString()).isEqualTo(status);
    assertThat(upstream.requests).as("forwarded: " + upstream.requests).isEmpty();
  }

  @Test
  void contentLengthTogetherWithTransferEncodingIs400() throws IOException {
    assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
  }

  @Test
  void repeatedDifferingContentLengthIs400() throws IOException {
    assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400);
  }

  @Test
  void commaListContentLengthIs400() throws IOException {
    assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 400);
  }

  @Test
  void invalidContentLengthIs400() throws IOException {
    assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400);
  }

  @Test
  void overflowingContentLengthIs400() throws IOException {
    assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nhello", 400);
  }

  @Test
  void unknownTransferCodingIs501() throws IOException {
    assertRefused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501);
  }

  @Test
  void chunkedNotLastIs400() throws IOException {
    assertRefused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400);
  }

  @Test
  void transferEncodingInHttp10Is400() throws IOException {
    assertRefused("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
  }

  @Test
  void bareLfInAFieldIs400() throws IOException {
    assertRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\nX-B: 2\r\n\r\n", 400);
  }

  @Test
  void bareCrInAFieldIs400() throws IOException {
    assertRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\rX-B: 2\r\n\r\n", 400);
  }

  @Test
  void nulInAFieldIs400() throws IOException {
    assertRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n", 400);
  }

  @Test
  void invalidFieldNameIs400() throws IOException {
    assertRefused("GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n", 400);
  }

  @Test
  void whitespaceBeforeColonIs400() throws IOException {
    assertRefused("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400);
  }

  @Test
  void invalidMethodIs400() throws IOException {
    assertRefused("G(ET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  }

  @Test
  void missingHostIs400() throws IOException {
    assertRefused("GET / HTTP/1.1\r\n\r\n", 400);
  }

  @Test
  void twoHostFieldsIs400() throws IOException {
    assertRefused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
  }

  @Test
  void oversizeRequestLineIs414() throws IOException {
    assertRefused("GET /" + "a".repeat(2000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414);
  }

  @Test
  void oversizeHeadersAre431() throws IOException {
    assertRefused("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(5000) + "\r\n\r\n", 431);
  }

  @Test
  void tooManyHeaderFieldsAre431() throws IOException {
    StringBuilder sb = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 25; i++) {
      sb.append("X-H").append(i).append(": v\r\n");
    }
    assertRefused(sb.append("\r\n").toString(), 431);
  }

  @Test
  void declaredBodyOverTheLimitIs413() throws IOException {
    assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 413);
  }

  @Test
  void obsFoldIsReplacedBySpaceAndNeverForwardedFolded() throws IOException, InterruptedException {
    RawHttp.Response r = send("GET / HTTP/1.1\r\nHost: a\r\nX-Folded: first\r\n  second\r\n\r\n");

    assertThat(r.status).isEqualTo(200);
    RawUpstream.Request seen = upstream.nextRequest();
    assertThat(seen.header("x-folded")).matches("first +second");
    assertThat(seen.headerLines).noneMatch(l -> l.startsWith(" ") || l.startsWith("\t"));
  }

  @Test
  void invalidChunkFramingIs400AndTheUpstreamNeverSeesACompleteRequest() throws Exception {
    RawHttp.Response r = send("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\nbad\r\n0\r\n\r\n");

    assertThat(r.status).isEqualTo(400);
    RawUpstream.Request seen = upstream.requests.poll(2, java.util.concurrent.TimeUnit.SECONDS);
    if (seen != null) {
      assertThat(seen.complete).as("upstream saw a complete request").isFalse();
    }
  }

  @Test
  void streamedBodyOverTheLimitIs413AndTheUpstreamNeverSeesACompleteRequest() throws Exception {
    StringBuilder sb = new StringBuilder("POST /big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 20; i++) {
      sb.append("64\r\n").append("x".repeat(100)).append("\r\n");
    }
    sb.append("0\r\n\r\n");
    RawHttp.Response r = send(sb.toString());

    assertThat(r.status).isEqualTo(413);
    RawUpstream.Request seen = upstream.requests.poll(2, java.util.concurrent.TimeUnit.SECONDS);
    if (seen != null) {
      assertThat(seen.complete).as("upstream saw a complete request").isFalse();
    }
  }

  @Test
  void validChunkedBodyIsForwardedIntact() throws Exception {
    RawHttp.Response r = send("POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");

    assertThat(r.status).isEqualTo(200);
    assertThat(r.bodyText()).isEqualTo("hello world");
    RawUpstream.Request seen = upstream.nextRequest();
    assertThat(seen.complete).isTrue();
    assertThat(seen.bodyText()).isEqualTo("hello world");
  }

  @Test
  void rejectedRequestsCloseTheConnection() throws IOException {
    try (RawHttp c = RawHttp.connect(proxy.port())) {
      c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
      RawHttp.Response r = c.readResponse();
      assertThat(r.status).isEqualTo(400);
      assertThat(c.isClosedByPeer()).isTrue();
    }
  }

  /**
   * Undertow reads every version in a request line other than HTTP/1.0 (and HTTP/2.0, which it refuses)
   * as HTTP/1.1, framing included; the upstream gets the same message as HTTP/1.1, so both agree.
   */
  @Test
  void otherHttpVersionsAreReadAndForwardedAsHttp11WithTheSameFraming() throws Exception {
    RawHttp.Response r = send("POST /v HTTP/0.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
    assertThat(r.status).isEqualTo(200);
    RawUpstream.Request q = upstream.nextRequest();
    assertThat(q.requestLine).isEqualTo("POST /v HTTP/1.1");
    assertThat(q.bodyText()).isEqualTo("hello");
    assertRefused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400);
  }
}
