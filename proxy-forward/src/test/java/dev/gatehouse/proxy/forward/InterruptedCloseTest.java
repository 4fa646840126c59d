package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code close()} called by an interrupted thread skips the grace period but still loses no access-log
 * line: the tunnel it closes is logged, the log is written out, and the interrupt is kept for the caller.
 * (Run 5 of the full suite lost the tunnel's line in {@code AccessLogTest} this way: close() came in with
 * its thread's interrupt flag set, stopped waiting for the closed tunnel's end and for the log writer.)
 */
@Timeout(60)
class InterruptedCloseTest {

  @Test
  void anInterruptedCloseStillWritesTheClosedTunnelsLine() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    try (TcpPeer dest = new TcpPeer(s -> {
           s.getInputStream().readNBytes(3);
           s.getOutputStream().write("12345".getBytes(StandardCharsets.US_ASCII));
           s.getOutputStream().flush();
           s.getInputStream().read(); // open until the proxy closes the tunnel
         })) {
      ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port()))
          .accessLog(AccessLog.sink(lines::add, AccessLog.Format.JSON_LINES)));
      RawHttp tunnel = RawHttp.connect(proxy.port());
      String t = "127.0.0.1:" + dest.port();
      tunnel.send("CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n\r\n");
      assertThat(tunnel.readResponse().status).isEqualTo(200);
      tunnel.send("abc");
      assertThat(tunnel.input().readNBytes(5)).hasSize(5);

      Thread.currentThread().interrupt();
      try {
        proxy.close();
      } finally {
        assertThat(Thread.interrupted()).as("the interrupt is kept for the caller").isTrue();
      }
      tunnel.close();

      assertThat(lines).singleElement().asString()
          .contains("\"method\":\"CONNECT\"", "\"status\":200", "\"bytesIn\":3", "\"bytesOut\":5");
    }
  }
}
