package dev.gatehouse.proxy.internal.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.internal.h2.HeaderBlocks;
import dev.gatehouse.proxy.testsupport.RawH2;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An HTTP/2 header block whose CONTINUATION frames arrive in a later read than its HEADERS frame. Each
 * test sends the HEADERS frame, waits until the proxy has read it on its own (it then waits for the rest
 * of the block and says so through the hook), and only then sends the CONTINUATION frames: the split that
 * Undertow 2.4 mishandles (the request dispatched with half its fields, and never ended), made
 * deterministic. Without {@link SplitHeaderBlocks} the hook never runs and every test here fails.
 */
@Timeout(30)
class SplitHeaderBlocksTest {
  private RawUpstream upstream;
  private ProxyServer proxy;
  private final CountDownLatch waiting = new CountDownLatch(1);

  @BeforeEach
  void start() throws IOException {
    upstream = RawUpstream.start(c -> {
      RawUpstream.Request r;
      while ((r = c.readRequest()) != null && r.complete) {
        String body = r.requestLine + " body=" + r.bodyText();
        c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
      }
    });
    proxy = TestProxy.builder().upstream(upstream.url()).http2(true).requestHeaderTimeout(Duration.ofSeconds(1))
        .build().start();
    HeaderBlocks.waitingHook = waiting::countDown;
  }

  @AfterEach
  void stop() throws IOException {
    HeaderBlocks.waitingHook = null;
    proxy.close();
    upstream.close();
  }

  /** Sends a HEADERS frame without END_HEADERS and returns once the proxy waits for the rest of the block. */
  private void headersAlone(RawH2 c, boolean endStream, String... fields) throws Exception {
    headersAlone(c, 1, endStream, fields);
  }

  private void headersAlone(RawH2 c, int stream, boolean endStream, String... fields) throws Exception {
    c.frame(RawH2.HEADERS, endStream ? RawH2.END_STREAM : 0, stream, RawH2.block(RawH2.request(endStream ? "GET" : "POST",
        "/split", fields)));
    assertThat(waiting.await(10, TimeUnit.SECONDS)).as("the proxy waits for the rest of the header block").isTrue();
  }

  @Test
  void undertowsInternalsAreReachable() {
    assertThat(SplitHeaderBlocks.available()).isTrue();
  }

  @Test
  void aBodilessRequestWhoseBlockEndsInALaterReadIsForwardedWholeAndEnds() throws Exception {
    try (RawH2 c = RawH2.connect(proxy.port())) {
      headersAlone(c, true, "x-a", "1");
      c.frame(RawH2.CONTINUATION, 0, 1, RawH2.block("x-b", "2"));
      c.frame(RawH2.CONTINUATION, RawH2.END_HEADERS, 1, RawH2.block("x-c", "3"));
      RawH2.Result r = c.await(1);
      assertThat(r.status).as(r.toString()).isEqualTo(200);
      RawUpstream.Request q = upstream.nextRequest();
      assertThat(q.requestLine).startsWith("GET /split ");
      assertThat(q.header("x-a")).isEqualTo("1");
      assertThat(q.header("x-b")).isEqualTo("2");
      assertThat(q.header("x-c")).isEqualTo("3");
      assertThat(q.header("transfer-encoding")).as("no body was announced").isNull();
      assertThat(q.body).isEmpty();
    }
  }

  @Test
  void aRequestWithABodyWhoseBlockEndsInALaterReadIsForwardedWithItsBody() throws Exception {
    try (RawH2 c = RawH2.connect(proxy.port())) {
      headersAlone(c, false, "x-a", "1");
      c.frame(RawH2.CONTINUATION, RawH2.END_HEADERS, 1, RawH2.block("x-b", "2"));
      c.data(1, true, "abc");
      RawH2.Result r = c.await(1);
      assertThat(r.status).as(r.toString()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("POST /split HTTP/1.1 body=abc");
      RawUpstream.Request q = upstream.nextRequest();
      assertThat(q.header("x-a")).isEqualTo("1");
      assertThat(q.header("x-b")).isEqualTo("2");
    }
  }

  @Test
  void aMalformedFieldInTheLaterContinuationIsRefusedBeforeForwarding() throws Exception {
    try (RawH2 c = RawH2.connect(proxy.port())) {
      headersAlone(c, true);
      c.frame(RawH2.CONTINUATION, RawH2.END_HEADERS, 1, RawH2.block("x-a", "v\r\nx-injected: 1"));
      RawH2.Result r = c.await(1);
      assertThat(r.refused()).as(r.toString()).isTrue();
      assertThat(upstream.connections()).as("the upstream was contacted: %s", upstream.requests).isZero();
    }
  }

  @Test
  void aBlockNeverCompletedResetsTheStreamAfterTheRequestHeaderTimeout() throws Exception {
    try (RawH2 c = RawH2.connect(proxy.port())) {
      // a whole request first, so that the settings are exchanged: acknowledging them in the middle of a
      // header block would be the client's own protocol error
      c.headers(1, true, RawH2.request("GET", "/first"));
      assertThat(c.await(1).status).isEqualTo(200);
      upstream.nextRequest();
      headersAlone(c, 3, true, "x-a", "1");
      RawH2.Result r = c.await(3); // no CONTINUATION: the proxy gives up after requestHeaderTimeout (1 s)
      assertThat(r.reset).as(r.toString()).isGreaterThanOrEqualTo(0);
      assertThat(upstream.requests).as("nothing more reached the upstream").isEmpty();
    }
  }
}
