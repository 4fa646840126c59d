package dev.gatehouse.proxy;

import static dev.gatehouse.proxy.testsupport.RawH2.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.RawH2;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HTTP/2 requests are held to RFC 9113 §8.1.1, §8.2 and §8.3 as strictly as HTTP/1.1 ones are to RFC
 * 9112: every case is sent as raw frames (no client library would send them) to an HTTP/1.1 upstream
 * that parses leniently and records every request it reads, so a smuggled request would show up there.
 * Each test asserts what the upstream received: nothing, an unfinished request on a connection the proxy
 * then closed, or exactly one clean request.
 */
@Timeout(30)
class Http2RequestValidationTest {
  private RawUpstream upstream;
  private ProxyServer proxy;
  /** Counted down each time the upstream sees a connection end. */
  private final CountDownLatch upstreamConnectionEnded = new CountDownLatch(1);
  private final BlockingQueue<Object> outcomes = new LinkedBlockingQueue<>();

  @BeforeEach
  void start() throws IOException {
    upstream = RawUpstream.start(c -> {
      try {
        RawUpstream.Request r;
        while ((r = c.readRequest()) != null && r.complete) {
          String body = r.requestLine + " len=" + r.body.length + " body=" + r.bodyText();
          c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
        }
      } finally {
        upstreamConnectionEnded.countDown();
      }
    });
    // records how each forwarded exchange ended, so a test knows when the proxy is done with it
    proxy = TestProxy.builder().upstream(upstream.url()).http2(true)
        .addFilter((ex, chain) -> chain.proceed().whenComplete((r, e) -> outcomes.add(e != null ? e : r.status())))
        .build().start();
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    upstream.close();
  }

  private RawH2 h2() throws IOException {
    return RawH2.connect(proxy.port());
  }

  /** Refused at the head: the upstream was never contacted. */
  private void assertRefusedBeforeForwarding(RawH2.Result r) {
    assertThat(r.refused()).as(r.toString()).isTrue();
    assertThat(upstream.connections()).as("the upstream was contacted: %s", upstream.requests).isZero();
  }

  /** Refused after the head went upstream: the upstream saw only an unfinished request, then a close. */
  private void assertUpstreamSawOnlyAnUnfinishedRequest(RawH2.Result r) throws InterruptedException {
    assertThat(r.refused()).as(r.toString()).isTrue();
    Object outcome = outcomes.poll(10, TimeUnit.SECONDS);
    assertThat(outcome).as("the proxy finished the exchange").isNotNull();
    assertThat(outcome).as("the exchange failed instead of getting an upstream response").isInstanceOf(Throwable.class);
    if (upstream.connections() > 0) {
      assertThat(upstreamConnectionEnded.await(10, TimeUnit.SECONDS)).as("the proxy closed the upstream connection").isTrue();
    }
    List<RawUpstream.Request> seen = new ArrayList<>(upstream.requests);
    assertThat(seen).as("requests the upstream read").allSatisfy(q -> assertThat(q.complete).as(q.toString()).isFalse());
    assertThat(seen).hasSizeLessThanOrEqualTo(1);
  }

  /** RFC 9113 §8.1.1: a stream error of type PROTOCOL_ERROR, or a 400 sent before the stream is closed. */
  private static void assertStreamError(RawH2.Result r) {
    assertThat(r.status == 400 || (r.status == -1 && r.reset == RawH2.PROTOCOL_ERROR)).as(r.toString()).isTrue();
  }

  private RawUpstream.Request theOneCleanRequest() throws InterruptedException {
    RawUpstream.Request q = upstream.nextRequest();
    assertThat(q.complete).isTrue();
    assertThat(upstream.requests).as("a second request reached the upstream").isEmpty();
    return q;
  }

  // ---------------------------------------------------------------- body length (H2.CL)

  @Test
  void aDataFrameCarryingASecondRequestAfterTheDeclaredLengthIsRefusedAndNothingIsSmuggled() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/a", "content-length", "5"));
      c.data(1, true, "helloGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
      RawH2.Result r = c.await(1);
      assertStreamError(r);
      assertUpstreamSawOnlyAnUnfinishedRequest(r);
      assertThat(upstream.requests).noneMatch(q -> q.requestLine.contains("smuggled"));
    }
  }

  @Test
  void extraBytesInALaterDataFrameAreRefusedAndTheLastDeclaredByteNeverReachesTheUpstream() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/a", "content-length", "5"));
      c.data(1, false, "hello");
      c.data(1, true, "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
      RawH2.Result r = c.await(1);
      assertUpstreamSawOnlyAnUnfinishedRequest(r);
      assertThat(upstream.requests).noneMatch(q -> q.requestLine.contains("smuggled"));
      assertThat(upstream.requests).allSatisfy(q -> assertThat(q.bodyText()).isEqualTo("hell"));
    }
  }

  @Test
  void aBodyShorterThanItsContentLengthIsRefusedAtOnceInsteadOfLeavingTheUpstreamWaiting() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/a", "content-length", "10"));
      c.data(1, true, "hello");
      RawH2.Result r = c.await(1);
      assertStreamError(r);
      assertUpstreamSawOnlyAnUnfinishedRequest(r);
    }
  }

  @Test
  void contentLengthZeroWithDataIsRefusedBeforeTheUpstreamSeesARequest() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/a", "content-length", "0"));
      c.data(1, true, "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
      RawH2.Result r = c.await(1);
      assertStreamError(r);
      assertUpstreamSawOnlyAnUnfinishedRequest(r);
      assertThat(upstream.requests).as("the head waits for the end of the stream").isEmpty();
    }
  }

  @Test
  void contentLengthZeroEndedByAnEmptyDataFrameIsForwardedOnce() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/empty", "content-length", "0"));
      c.data(1, true, "");
      RawH2.Result r = c.await(1);
      assertThat(r.status).as(r.toString()).isEqualTo(200);
      RawUpstream.Request q = theOneCleanRequest();
      assertThat(q.requestLine).isEqualTo("POST /empty HTTP/1.1");
      assertThat(q.header("content-length")).isEqualTo("0");
    }
  }

  @Test
  void aBodyInSeveralDataFramesEndedByAnEmptyOneIsForwardedExactlyOnce() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/parts", "content-length", "11"));
      c.data(1, false, "hello");
      c.data(1, false, " ");
      c.data(1, false, "world");
      c.data(1, true, "");
      RawH2.Result r = c.await(1);
      assertThat(r.status).as(r.toString()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("POST /parts HTTP/1.1 len=11 body=hello world");
      RawUpstream.Request q = theOneCleanRequest();
      assertThat(q.header("content-length")).isEqualTo("11");
    }
  }

  @Test
  void contentLengthWithLeadingZerosIsForwardedInItsPlainForm() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/z", "content-length", "005"));
      c.data(1, true, "hello");
      RawH2.Result r = c.await(1);
      assertThat(r.status).as(r.toString()).isEqualTo(200);
      assertThat(theOneCleanRequest().headers("content-length")).containsExactly("5");
    }
  }

  @Test
  void aBodyWithoutContentLengthIsForwardedChunkedAndEndsWithTheStream() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/chunked"));
      c.data(1, false, "abc");
      c.data(1, true, "def");
      RawH2.Result r = c.await(1);
      assertThat(r.bodyText()).isEqualTo("POST /chunked HTTP/1.1 len=6 body=abcdef");
      assertThat(theOneCleanRequest().header("transfer-encoding")).isEqualTo("chunked");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"5, 5", "5,6", "+5", "-1", "5 ", "0x5", ""})
  void aContentLengthThatIsNotOneNumberIsRefused(String value) throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/a", "content-length", value));
      c.data(1, true, "hello");
      assertRefusedBeforeForwarding(c.await(1));
    }
  }

  @Test
  void twoContentLengthFieldsAreRefused() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/a", "content-length", "5", "content-length", "5"));
      c.data(1, true, "hello");
      assertRefusedBeforeForwarding(c.await(1));
    }
  }

  // ---------------------------------------------------------------- field values and names

  @ParameterizedTest
  @ValueSource(strings = {
      "v\r\n\r\nGET /other HTTP/1.1\r\nHost: x\r\n",
      "v\r\nTransfer-Encoding: chunked",
      "v\ninjected: 1",
      "v\rinjected: 1",
      "v\0w",
      " leading-space",
      "trailing-tab\t"})
  void aFieldValueWithCrLfNulOrSurroundingWhiteSpaceIsRefused(String value) throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, true, request("GET", "/a", "x-a", value));
      RawH2.Result r = c.await(1);
      assertRefusedBeforeForwarding(r);
      if (r.status > 0) {
        assertThat(r.status).as(r.toString()).isEqualTo(400);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"x-a:x-injected", "X-Upper", "x a", "x-a\r\nx-b", "", ":x-pseudo", "x(y)"})
  void aFieldNameThatIsNotALowerCaseTokenIsRefused(String name) throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, true, request("GET", "/a", name, "1"));
      assertRefusedBeforeForwarding(c.await(1));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})
  void connectionSpecificFieldsAreRefused(String name) throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, true, request("GET", "/a", name, "websocket"));
      assertRefusedBeforeForwarding(c.await(1));
    }
  }

  @Test
  void teOtherThanTrailersIsRefusedAndTeTrailersIsNotForwarded() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, true, request("GET", "/a", "te", "gzip"));
      assertRefusedBeforeForwarding(c.await(1));
      c.headers(3, true, request("GET", "/b", "te", "trailers"));
      RawH2.Result ok = c.await(3);
      assertThat(ok.status).as(ok.toString()).isEqualTo(200);
      assertThat(theOneCleanRequest().header("te")).isNull();
    }
  }

  @Test
  void aMalformedFieldInAContinuationFrameIsRefusedAndAValidSplitBlockIsForwarded() throws Exception {
    try (RawH2 c = h2()) {
      byte[] first = RawH2.block(request("GET", "/split"));
      c.frame(RawH2.HEADERS, RawH2.END_STREAM, 1, first);
      c.frame(RawH2.CONTINUATION, RawH2.END_HEADERS, 1, RawH2.block("x-a", "v\r\nx-injected: 1"));
      assertRefusedBeforeForwarding(c.await(1));
    }
    try (RawH2 c = h2()) {
      c.frame(RawH2.HEADERS, RawH2.END_STREAM, 1, RawH2.block(request("GET", "/split")));
      c.frame(RawH2.CONTINUATION, 0, 1, RawH2.block("x-a", "1"));
      c.frame(RawH2.CONTINUATION, RawH2.END_HEADERS, 1, RawH2.block("x-b", "2"));
      RawH2.Result r = c.await(1);
      assertThat(r.status).as(r.toString()).isEqualTo(200);
      RawUpstream.Request q = theOneCleanRequest();
      assertThat(q.header("x-a")).isEqualTo("1");
      assertThat(q.header("x-b")).isEqualTo("2");
    }
  }

  @Test
  void malformedTrailersRefuseTheRequestBeforeItIsComplete() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, false, request("POST", "/t"));
      c.data(1, false, "abc");
      c.headers(1, true, "x-trailer", "v\r\n\r\nGET /smuggled HTTP/1.1");
      RawH2.Result r = c.await(1);
      assertUpstreamSawOnlyAnUnfinishedRequest(r);
      assertThat(upstream.requests).noneMatch(q -> q.requestLine.contains("smuggled"));
    }
  }

  // ---------------------------------------------------------------- pseudo-fields

  @Test
  void anAsteriskPathIsRefusedForGetWithA400() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, true, request("GET", "*"));
      RawH2.Result r = c.await(1);
      assertThat(r.status).as(r.toString()).isEqualTo(400);
      assertRefusedBeforeForwarding(r);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://evil/x", "https://evil.example/", "evil/x", "//evil/x"})
  void aPathThatIsNotOriginFormIsRefused(String path) throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, true, request("GET", path));
      RawH2.Result r = c.await(1);
      if (!path.startsWith("//")) {
        assertRefusedBeforeForwarding(r);
      } else {
        // "//evil/x" is origin-form (an empty first segment): forwarded as a path, never as an authority
        assertThat(r.status).as(r.toString()).isEqualTo(200);
        assertThat(theOneCleanRequest().requestLine).isEqualTo("GET //evil/x HTTP/1.1");
      }
    }
  }

  @Test
  void missingOrRepeatedPseudoFieldsAndPseudoFieldsAfterRegularOnesAreRefused() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, true, ":method", "GET", ":scheme", "http", ":authority", "a");
      assertRefusedBeforeForwarding(c.await(1));
    }
    try (RawH2 c = h2()) {
      c.headers(1, true, ":method", "GET", ":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/");
      assertRefusedBeforeForwarding(c.await(1));
    }
    try (RawH2 c = h2()) {
      c.headers(1, true, ":method", "GET", ":scheme", "http", "x-a", "1", ":path", "/", ":authority", "a");
      assertRefusedBeforeForwarding(c.await(1));
    }

  }

  /**
   * A repeated :authority is the one RFC 9113 §8.3 violation the proxy cannot see: Undertow merges the
   * pseudo-fields into Host (its first value) before any handler runs. Nothing ambiguous follows from it:
   * routing, filters and the upstream all see that one value, once.
   */
  @Test
  void aRepeatedAuthorityBecomesExactlyOneHostThatEveryoneAgreesOn() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, true, ":method", "GET", ":scheme", "http", ":authority", "a.test", ":authority", "b.test",
          ":path", "/", "host", "c.test");
      RawH2.Result r = c.await(1);
      assertThat(r.status).as(r.toString()).isEqualTo(200);
      assertThat(theOneCleanRequest().headers("host")).containsExactly("a.test");
    }
  }

  @Test
  void aValidRequestIsForwardedOnceWithItsFields() throws Exception {
    try (RawH2 c = h2()) {
      c.headers(1, true, request("GET", "/ok?q=1", "x-a", "v w", "accept", "*/*"));
      RawH2.Result r = c.await(1);
      assertThat(r.status).as(r.toString()).isEqualTo(200);
      RawUpstream.Request q = theOneCleanRequest();
      assertThat(q.requestLine).isEqualTo("GET /ok?q=1 HTTP/1.1");
      assertThat(q.header("host")).isEqualTo("example.test");
      assertThat(q.header("x-a")).isEqualTo("v w");
    }
  }

  @Test
  void aRefusedRequestIsLoggedOnOneLineWhateverItsFieldsCarry() throws Exception {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    for (AccessLog.Format format : new AccessLog.Format[] {AccessLog.Format.COMBINED, AccessLog.Format.JSON_LINES}) {
      try (ProxyServer logged = TestProxy.builder().upstream(upstream.url()).http2(true)
          .accessLog(AccessLog.sink(lines::add, format)).build().start();
          RawH2 c = RawH2.connect(logged.port())) {
        c.headers(1, true, request("GET", "/a", "user-agent", "x\r\n127.0.0.1 - - [forged] \"GET / HTTP/1.1\" 200 1",
            "referer", "y\n{\"forged\":true}"));
        assertThat(c.await(1).status).isEqualTo(400);
      }
      String line = lines.poll(10, TimeUnit.SECONDS);
      assertThat(line).as(format + " line").isNotNull().doesNotContain("\r").doesNotContain("\n");
      assertThat(line).containsAnyOf(" 400 ", "\"status\":400");
    }
    assertThat(upstream.connections()).isZero();
  }
}
