package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.LogCapture;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code close()} of a forward proxy with a {@code CONNECT} tunnel and a keep-alive client: the client's
 * idle connection is closed at once, new connections are refused, and the tunnel keeps carrying bytes
 * through the grace period, then is closed with a log line and its access-log line.
 */
@Timeout(60)
class ForwardDrainTest {

  @Test
  void aTunnelRunsThroughTheGracePeriodAndIsThenClosedWithALogLine() throws Exception {
    List<String> accessLines = new CopyOnWriteArrayList<>();
    Duration grace = Duration.ofSeconds(1);
    CompletableFuture<Void> destinationSawTheEnd = new CompletableFuture<>();
    try (TcpPeer dest = new TcpPeer(s -> {
          InputStream in = s.getInputStream();
          int b;
          while ((b = in.read()) >= 0) { // echoes until the tunnel closes
            s.getOutputStream().write(b);
            s.getOutputStream().flush();
          }
          destinationSawTheEnd.complete(null);
        });
        RawUpstream origin = RawUpstream.keepAlive("plain");
        LogCapture logs = new LogCapture()) {
      ProxyServer proxy = Fwd.start(Fwd.builder().shutdownGracePeriod(grace)
          .egress(Fwd.allowLoopback(dest.port(), origin.port()))
          .accessLog(AccessLog.sink(accessLines::add, AccessLog.Format.JSON_LINES)));
      String target = "127.0.0.1:" + dest.port();
      int port = proxy.port();
      try (RawHttp tunnel = ConnectTunnelTest.connect(proxy, target);
          RawHttp keepAlive = RawHttp.connect(port)) {
        assertThat(tunnel.readResponse().status).isEqualTo(200);
        tunnel.send("ping");
        assertThat(new String(tunnel.input().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
        RawHttp.Response plain = keepAlive.send("GET " + origin.url() + "/a HTTP/1.1\r\nHost: 127.0.0.1:"
            + origin.port() + "\r\n\r\n").readResponse();
        assertThat(plain.bodyText()).isEqualTo("plain");

        CompletableFuture<Void> closing = CompletableFuture.runAsync(proxy::close);
        assertThat(keepAlive.isClosedByPeer()).as("an idle keep-alive connection is closed at once").isTrue();
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
          throw new AssertionError("a new connection was accepted while the proxy closes");
        } catch (ConnectException expected) {
          // refused
        }
        tunnel.send("during");
        assertThat(new String(tunnel.input().readNBytes(6), StandardCharsets.US_ASCII))
            .as("the tunnel still carries bytes in the grace period").isEqualTo("during");

        closing.get(30, TimeUnit.SECONDS);
        assertThat(tunnel.input().read()).as("closed at the end of the grace period").isEqualTo(-1);
        assertThat(logs.text()).contains("closing CONNECT tunnel to " + target + " from /127.0.0.1:")
            .contains("(10 bytes up, 10 bytes down) at the end of the shutdown grace period " + grace);
        assertThat(destinationSawTheEnd).succeedsWithin(Duration.ofSeconds(10));
        assertThat(accessLines).anySatisfy(l -> assertThat(l).contains("\"method\":\"CONNECT\"")
            .contains("\"bytesIn\":10,\"bytesOut\":10"));
      }
    }
  }
}
