package dev.gatehouse.proxy.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class RequestLimitsTest {
  private final HttpClient client = Clients.http();
  private RawUpstream upstream;

  @BeforeEach
  void start() throws IOException {
    upstream = RawUpstream.keepAlive("ok");
  }

  @AfterEach
  void stop() throws IOException {
    upstream.close();
  }

  private ProxyServer proxy(RequestLimits limits) {
    return TestProxy.builder().upstream(upstream.url()).addFilter(limits).build().start();
  }

  @Test
  void aMethodNotAllowedGets405WithAllow() throws Exception {
    try (ProxyServer proxy = proxy(RequestLimits.builder().allowMethods("GET", "POST").build())) {
      HttpResponse<String> r = client.send(Clients.request(proxy, "/x").DELETE().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(405);
      assertThat(r.headers().firstValue("Allow")).hasValue("GET, HEAD, POST");
      assertThat(upstream.requests).isEmpty();
      HttpResponse<Void> head = client.send(Clients.request(proxy, "/x").method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.discarding());
      assertThat(head.statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aDeclaredLengthOverTheLimitGets413WithoutContactingTheUpstream() throws Exception {
    try (ProxyServer proxy = proxy(RequestLimits.builder().maxBodySize(1000).build())) {
      HttpResponse<String> r = client.send(Clients.request(proxy, "/x").POST(HttpRequest.BodyPublishers.ofByteArray(new byte[1001]))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(413);
      assertThat(upstream.requests).isEmpty();
      HttpResponse<String> ok = client.send(Clients.request(proxy, "/x").POST(HttpRequest.BodyPublishers.ofByteArray(new byte[1000]))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(upstream.nextRequest().body).hasSize(1000);
    }
  }

  @Test
  void aChunkedBodyOverTheLimitGets413AndTheUpstreamNeverSeesItComplete() throws Exception {
    try (ProxyServer proxy = proxy(RequestLimits.builder().maxBodySize(100_000).build())) {
      byte[] big = new byte[1_000_000];
      HttpResponse<String> r = client.send(Clients.request(proxy, "/x")
          .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(413);
      RawUpstream.Request got = upstream.requests.poll(500, TimeUnit.MILLISECONDS);
      assertThat(got == null || !got.complete).isTrue();

      byte[] small = new byte[50_000];
      HttpResponse<String> ok = client.send(Clients.request(proxy, "/x")
          .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(small))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(ok.statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aChunkedBodyOverTheLimitIsAnsweredWhileItIsSentAndTheConnectionServesTheNextRequest() throws Exception {
    try (ProxyServer proxy = proxy(RequestLimits.builder().maxBodySize(100_000).build());
         RawHttp c = RawHttp.connect(proxy.port())) {
      byte[] chunk = ("4000\r\n" + "x".repeat(0x4000) + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
      AtomicReference<Exception> writeFailure = new AtomicReference<>();
      Thread writer = new Thread(() -> {
        try {
          c.send("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
          for (int i = 0; i < 64; i++) { // 1 MiB, ten times the limit
            c.send(chunk);
          }
          c.send("0\r\n\r\n");
        } catch (Exception e) {
          writeFailure.set(e);
        }
      }, "body-writer");
      writer.start();

      RawHttp.Response r = c.readResponse(); // read while the body is still being written
      assertThat(r.status).isEqualTo(413);
      assertThat(r.header("Connection")).isNotEqualTo("close");
      writer.join(); // the proxy took the whole body: closing with it unread would reset the connection
      assertThat(writeFailure.get()).isNull();
      RawHttp.Response next = c.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n").readResponse();
      assertThat(next.status).isEqualTo(200);

      // the upstream connection of the cut POST was closed mid-body: it is recorded incomplete, if at all
      RawUpstream.Request seen = upstream.nextRequest();
      if (seen.requestLine.startsWith("POST")) {
        assertThat(seen.complete).as("the upstream saw a complete over-limit request").isFalse();
        seen = upstream.nextRequest();
      }
      assertThat(seen.requestLine).isEqualTo("GET /after HTTP/1.1");
      assertThat(upstream.requests).noneMatch(q -> q.complete && q.requestLine.startsWith("POST"));
    }
  }

  @Test
  void builderMisuseFails() {
    assertThatThrownBy(() -> RequestLimits.builder().build()).hasMessage("limits: none (expected: maxBodySize or allowMethods)");
    assertThatThrownBy(() -> RequestLimits.builder().maxBodySize(-1)).hasMessage("maxBodySize: -1 (expected: >= 0)");
    assertThatThrownBy(() -> RequestLimits.builder().allowMethods("G T")).hasMessage("allowMethods: \"G T\" (expected: a method token such as GET)");
  }
}
