package dev.gatehouse.proxy.headers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The request id in the access log: a requestId field in JSON lines, the common and combined formats unchanged. */
@Timeout(30)
class AccessLogRequestIdTest {

  private static String line(BlockingQueue<String> lines) throws InterruptedException {
    String l = lines.poll(10, TimeUnit.SECONDS);
    assertThat(l).as("an access log line").isNotNull();
    return l;
  }

  private static ProxyServer proxy(RawUpstream up, BlockingQueue<String> lines, AccessLog.Format format,
      boolean withRequestId) {
    TestProxy b = TestProxy.builder().upstream(up.url()).accessLog(AccessLog.sink(lines::add, format));
    if (withRequestId) {
      b.addFilter(RequestId.builder().generator(() -> "id-1").build());
    }
    return b.build().start();
  }

  @Test
  void jsonLinesCarryTheIdTheUpstreamReceived() throws Exception {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    try (RawUpstream up = RawUpstream.keepAlive("pong");
         ProxyServer proxy = proxy(up, lines, AccessLog.Format.JSON_LINES, true)) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
      assertThat(r.status).isEqualTo(200);
      assertThat(r.header("X-Request-Id")).isEqualTo("id-1");
      assertThat(up.nextRequest().header("x-request-id")).isEqualTo("id-1");
      assertThat(line(lines)).endsWith(",\"decision\":null,\"rule\":null,\"requestId\":\"id-1\"}");
    }
  }

  @Test
  void anIdFromTheClientIsLoggedOnlyWhenValid() throws Exception {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    try (RawUpstream up = RawUpstream.keepAlive("pong");
         ProxyServer proxy = TestProxy.builder().upstream(up.url())
             .accessLog(AccessLog.sink(lines::add, AccessLog.Format.JSON_LINES))
             .addFilter(RequestId.builder().trustIncoming(true).build()).build().start()) {
      // a valid incoming id is kept as it is
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET /a HTTP/1.1\r\nHost: x\r\nX-Request-Id: ab/c=+1\r\n\r\n");
      assertThat(r.status).isEqualTo(200);
      assertThat(up.nextRequest().header("x-request-id")).isEqualTo("ab/c=+1");
      assertThat(line(lines)).endsWith(",\"requestId\":\"ab/c=+1\"}");
      // one it may not hold ('"') is replaced by a generated one, never logged
      RawHttp.exchange(proxy.port(), "GET /b HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\"b\r\n\r\n");
      String generated = up.nextRequest().header("x-request-id");
      assertThat(generated).isNotEqualTo("a\"b");
      assertThat(line(lines)).endsWith(",\"requestId\":\"" + generated + "\"}").doesNotContain("a\\\"b");
    }
  }

  @Test
  void withoutTheFilterTheFieldIsNull() throws Exception {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    try (RawUpstream up = RawUpstream.keepAlive("pong");
         ProxyServer proxy = proxy(up, lines, AccessLog.Format.JSON_LINES, false)) {
      assertThat(RawHttp.exchange(proxy.port(), "GET /a HTTP/1.1\r\nHost: x\r\n\r\n").status).isEqualTo(200);
      assertThat(line(lines)).endsWith(",\"requestId\":null}");
    }
  }

  @Test
  void commonAndCombinedFormatsAreUnchanged() throws Exception {
    for (AccessLog.Format format : new AccessLog.Format[] {AccessLog.Format.COMMON, AccessLog.Format.COMBINED}) {
      BlockingQueue<String> lines = new LinkedBlockingQueue<>();
      try (RawUpstream up = RawUpstream.keepAlive("pong");
           ProxyServer proxy = proxy(up, lines, format, true)) {
        assertThat(RawHttp.exchange(proxy.port(), "GET /a HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n").status)
            .isEqualTo(200);
        String l = line(lines);
        assertThat(l).doesNotContain("id-1");
        if (format == AccessLog.Format.COMMON) {
          assertThat(l).matches("127\\.0\\.0\\.1 - - \\[[^]]+\\] \"GET /a HTTP/1\\.1\" 200 4");
        } else {
          assertThat(l).matches("127\\.0\\.0\\.1 - - \\[[^]]+\\] \"GET /a HTTP/1\\.1\" 200 4 \"-\" \"t\"");
        }
      }
    }
  }
}
