package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.events.ExchangeOutcome;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The forward proxy's own events: egress decisions and CONNECT tunnels. */
@Timeout(30)
class ForwardEventsTest {

  @Test
  void egressDecisionsAreReportedWithTheirRule() throws Exception {
    RecordingListener events = new RecordingListener();
    try (RawUpstream origin = RawUpstream.keepAlive("hi");
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port())).addListener(events))) {
      assertThat(RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + origin.port() + "/ok HTTP/1.1\r\nHost: 127.0.0.1:"
          + origin.port() + "\r\n\r\n")
          .status).isEqualTo(200);
      events.awaitEnded(1);
      assertThat(RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:1/no HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n").status)
          .isEqualTo(403);
      events.awaitEnded(2);

      assertThat(events.events("decision")).containsExactly(
          "decision egress allow allow address 127.0.0.1:" + origin.port(),
          "decision egress deny default deny loopback 127.0.0.0/8");
      assertThat(events.events("exchangeEnded")).containsExactly(
          "exchangeEnded upstream 200 in=0 out=2 attempts=1", "exchangeEnded local 403 in=0 out=62 attempts=0");
    }
  }

  @Test
  void aConnectTunnelReportsItsBytesWhenItCloses() throws Exception {
    RecordingListener events = new RecordingListener();
    try (TcpPeer dest = new TcpPeer(s -> {
           byte[] ping = s.getInputStream().readNBytes(4);
           s.getOutputStream().write(("pong:" + new String(ping, StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII));
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port())).addListener(events))) {
      String target = "127.0.0.1:" + dest.port();
      try (RawHttp c = RawHttp.connect(proxy.port())) {
        c.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
        assertThat(c.readResponse(true).status).isEqualTo(200);
        OutputStream out = c.output();
        out.write("ping".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = c.input();
        assertThat(new String(in.readNBytes(9), StandardCharsets.US_ASCII)).isEqualTo("pong:ping");
      }
      events.awaitEnded(1);

      assertThat(events.events("tunnel", "committed", "exchangeEnded")).containsExactly(
          "committed 200 local",
          "tunnelOpened CONNECT " + target,
          "tunnelClosed in=4 out=9",
          "exchangeEnded tunnel 200 in=4 out=9 attempts=0");
      assertThat(events.ended.get(0).outcome()).isEqualTo(ExchangeOutcome.TUNNEL);
      events.await("connectionClosed");
      assertThat(proxy.status().activeConnections()).hasValue(0);
      assertThat(proxy.status().activeExchanges()).isZero();
    }
  }
}
