package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import dev.gatehouse.proxy.testsupport.TestProxy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** maxClientConnections, maxClientConnectionsPerIp and maxConcurrentExchanges. */
@Timeout(60)
class ClientLimitsTest {
  private static final String GET = "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n";

  @Test
  void negativeLimitsAreRefusedAtOnce() {
    assertThatThrownBy(() -> TestProxy.builder().maxClientConnections(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxClientConnections: -1 (expected: >= 0, 0 for no limit)");
    assertThatThrownBy(() -> TestProxy.builder().maxClientConnectionsPerIp(-2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxClientConnectionsPerIp: -2 (expected: >= 0, 0 for no limit)");
    assertThatThrownBy(() -> TestProxy.builder().maxConcurrentExchanges(-3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxConcurrentExchanges: -3 (expected: >= 0, 0 for no limit)");
  }

  @Test
  void aPerIpLimitAboveTheTotalIsRefusedAtBuild() {
    TestProxy b = TestProxy.builder().upstream("http://127.0.0.1:1").maxClientConnections(2)
        .maxClientConnectionsPerIp(3);
    assertThatThrownBy(b::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("maxClientConnectionsPerIp: 3 (expected: <= maxClientConnections 2)");
  }

  @Test
  void withoutLimitsManyConnectionsFromOneAddressAreServed() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("pong");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).build().start()) {
      List<RawHttp> conns = new ArrayList<>();
      try {
        for (int i = 0; i < 30; i++) {
          conns.add(RawHttp.connect(proxy.port()));
        }
        for (int i = 0; i < conns.size(); i++) {
          assertThat(conns.get(i).send(GET.formatted(i)).readResponse().status).isEqualTo(200);
        }
      } finally {
        for (RawHttp c : conns) {
          c.close();
        }
      }
      assertThat(up.requests).hasSize(30);
    }
  }

  @Test
  void aConnectionBeyondMaxClientConnectionsIsClosedAtOnceAndCounted() throws Exception {
    RecordingListener rec = new RecordingListener();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (RawUpstream up = RawUpstream.keepAlive("pong");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).maxClientConnections(2).addListener(rec)
             .metrics(registry).build().start();
         RawHttp a = RawHttp.connect(proxy.port());
         RawHttp b = RawHttp.connect(proxy.port())) {
      assertThat(a.send(GET.formatted("a1")).readResponse().status).isEqualTo(200);
      assertThat(b.send(GET.formatted("b1")).readResponse().status).isEqualTo(200);

      try (RawHttp c = RawHttp.connect(proxy.port())) {
        assertThat(c.isClosedByPeer()).isTrue(); // closed before anything was read or written
      }
      rec.await("limitReached connections 127.0.0.1");
      // the connections within the limit are unaffected
      assertThat(a.send(GET.formatted("a2")).readResponse().status).isEqualTo(200);

      a.close(); // frees a place once the proxy has seen it close
      rec.await("connectionClosed");
      try (RawHttp d = RawHttp.connect(proxy.port())) {
        assertThat(d.send(GET.formatted("d1")).readResponse().status).isEqualTo(200);
      }

      assertThat(up.requests).extracting(r -> r.requestLine)
          .containsExactly("GET /a1 HTTP/1.1", "GET /b1 HTTP/1.1", "GET /a2 HTTP/1.1", "GET /d1 HTTP/1.1");
      assertThat(rec.events("limitReached")).containsExactly("limitReached connections 127.0.0.1");
      assertThat(registry.get("gatehouse.limit.rejections").tag("limit", "connections").counter().count())
          .isEqualTo(1);
    }
  }

  @Test
  void aConnectionBeyondMaxClientConnectionsPerIpIsClosedWhileOtherAddressesAreServed() throws Exception {
    RecordingListener rec = new RecordingListener();
    InetAddress other = InetAddress.getByName("127.0.0.2");
    try (RawUpstream up = RawUpstream.keepAlive("pong");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).maxClientConnectionsPerIp(1).addListener(rec)
             .build().start();
         RawHttp a = RawHttp.connect(proxy.port())) {
      assertThat(a.send(GET.formatted("a1")).readResponse().status).isEqualTo(200);

      try (RawHttp b = RawHttp.connect(proxy.port())) {
        assertThat(b.isClosedByPeer()).isTrue();
      }
      rec.await("limitReached connections-per-ip 127.0.0.1");
      try (RawHttp c = RawHttp.connect(proxy.port(), other)) {
        assertThat(c.send(GET.formatted("c1")).readResponse().status).isEqualTo(200);
      }

      a.close(); // c's close was the first connectionClosed: a's is the second
      rec.await(e -> rec.events("connectionClosed").size() == 2);
      try (RawHttp d = RawHttp.connect(proxy.port())) {
        assertThat(d.send(GET.formatted("d1")).readResponse().status).isEqualTo(200);
      }

      assertThat(up.requests).extracting(r -> r.requestLine)
          .containsExactly("GET /a1 HTTP/1.1", "GET /c1 HTTP/1.1", "GET /d1 HTTP/1.1");
      assertThat(rec.events("limitReached")).containsExactly("limitReached connections-per-ip 127.0.0.1");
    }
  }

  @Test
  void aRequestBeyondMaxConcurrentExchangesIsAnswered503WithConnectionClose() throws Exception {
    RecordingListener rec = new RecordingListener();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CountDownLatch release = new CountDownLatch(1);
    try (RawUpstream up = RawUpstream.start(c -> {
          RawUpstream.Request r;
          while ((r = c.readRequest()) != null) {
            if (r.requestLine.contains("/hold")) {
              release.await();
            }
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
          }
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).maxConcurrentExchanges(1).addListener(rec)
             .metrics(registry).build().start();
         RawHttp a = RawHttp.connect(proxy.port())) {
      a.send(GET.formatted("hold"));
      assertThat(up.nextRequest().requestLine).isEqualTo("GET /hold HTTP/1.1"); // in flight now

      try (RawHttp b = RawHttp.connect(proxy.port())) {
        RawHttp.Response r = b.send("POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc").readResponse();
        assertThat(r.status).isEqualTo(503);
        assertThat(r.header("Connection")).isEqualTo("close");
        assertThat(r.bodyText()).isEqualTo("Service Unavailable: too many requests in flight\n");
        // closed after its answer (Undertow closes it once the exchange, and the gate's count of it, is done)
        assertThat(b.isClosedByPeer()).isTrue();
      }
      rec.await("limitReached exchanges 127.0.0.1");
      // Undertow writes the 503 (and closes b) before the exchange's completion listeners run, so b can
      // see its answer a moment before its exchange stops counting: wait for its end event (the limit's
      // count drops on the same thread right after it) before /third may be counted against it
      rec.awaitEnded(1);

      release.countDown();
      assertThat(a.readResponse().status).isEqualTo(200);
      // the next request on a's connection is read only after the held exchange has completed
      assertThat(a.send(GET.formatted("third")).readResponse().status).isEqualTo(200);

      assertThat(up.requests).extracting(r -> r.requestLine).containsExactly("GET /third HTTP/1.1");
      rec.awaitEnded(3);
      assertThat(rec.ended).extracting(e -> e.status()).containsExactlyInAnyOrder(503, 200, 200);
      assertThat(rec.events("limitReached")).containsExactly("limitReached exchanges 127.0.0.1");
      assertThat(registry.get("gatehouse.limit.rejections").tag("limit", "exchanges").counter().count())
          .isEqualTo(1);
    }
  }
}
