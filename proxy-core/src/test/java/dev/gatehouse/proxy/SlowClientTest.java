package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Clients that are slow on purpose: the proxy does not wait for them forever. */
@Timeout(30)
class SlowClientTest {

  @Test
  void clientThatNeverFinishesItsHeadIsDisconnectedAfterRequestHeaderTimeout() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url())
             .requestHeaderTimeout(Duration.ofMillis(500)).build().start();
         RawHttp client = RawHttp.connect(proxy.port())) {
      long start = System.nanoTime();
      client.send("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ");

      assertThat(client.isClosedByPeer()).isTrue();
      assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(9000);
      assertThat(up.requests).isEmpty();
    }
  }

  @Test
  void clientThatStallsMidBodyGets408AndTheUpstreamNeverSeesACompleteRequest() throws Exception {
    try (RawUpstream up = RawUpstream.start(c -> {
          RawUpstream.Request r = c.readRequest();
          if (r != null) {
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
          }
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).idleTimeout(Duration.ofMillis(500)).build().start();
         RawHttp client = RawHttp.connect(proxy.port())) {
      client.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly part of it");

      RawHttp.Response r = client.readResponse();

      assertThat(r.status).isEqualTo(408);
      assertThat(client.isClosedByPeer()).isTrue();
      RawUpstream.Request seen = up.requests.poll(2, java.util.concurrent.TimeUnit.SECONDS);
      if (seen != null) {
        assertThat(seen.complete).isFalse();
      }
    }
  }

  @Test
  void slowUpstreamWithinReadTimeoutIsNotMistakenForAnIdleClient() throws Exception {
    java.util.concurrent.CountDownLatch answered = new java.util.concurrent.CountDownLatch(1);
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          answered.await(1200, java.util.concurrent.TimeUnit.MILLISECONDS); // longer than idleTimeout
          c.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow");
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).idleTimeout(Duration.ofMillis(300))
             .readTimeout(Duration.ofSeconds(5)).build().start()) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("slow");
    }
  }
}
