package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class AccessLogTest {

  @Test
  void jsonLinesRecordExchangesDenialsChallengesAndTunnelsWithUserDecisionAndBytes() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    try (RawUpstream up = RawUpstream.keepAlive("hello");
         TcpPeer dest = new TcpPeer(s -> {
           byte[] in = s.getInputStream().readNBytes(3);
           s.getOutputStream().write("12345".getBytes(StandardCharsets.US_ASCII));
           s.getOutputStream().flush();
           s.getInputStream().read();
         })) {
      ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port(), dest.port()))
          .proxyAuthentication("corp", ProxyAuthenticator.users(Map.of("alice", "pw")))
          .accessLog(AccessLog.sink(lines::add, AccessLog.Format.JSON_LINES)));
      String auth = "Proxy-Authorization: " + ProxyAuthTest.basic("alice", "pw") + "\r\n";
      RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + up.port() + "/a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:"
          + up.port() + "\r\n" + auth + "\r\n");
      RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\n" + auth + "\r\n");
      RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
      RawHttp tunnel = RawHttp.connect(proxy.port());
      String t = "127.0.0.1:" + dest.port();
      tunnel.send("CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n" + auth + "\r\n");
      assertThat(tunnel.readResponse().status).isEqualTo(200);
      tunnel.send("abc");
      assertThat(tunnel.input().readNBytes(5)).hasSize(5);
      proxy.close(); // closes the open tunnel, which is logged before close() returns
      tunnel.close();

      assertThat(lines).hasSize(4);
      // each line is written when its exchange completes, on its connection's I/O thread: find them by content
      assertThat(lines).filteredOn(l -> l.contains("\"status\":200") && l.contains("\"method\":\"GET\"")).singleElement()
          .asString().matches("\\{\"time\":\"[0-9T:.-]+Z\",\"client\":\"127.0.0.1\",\"user\":\"alice\","
          + "\"method\":\"GET\",\"scheme\":\"http\",\"host\":\"127.0.0.1\",\"port\":" + up.port() + ",\"path\":\"/a\\?b=1\","
          + "\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytesIn\":0,\"bytesOut\":5,\"durationMs\":[0-9]+\\.[0-9]{3},"
          + "\"decision\":\"allow\",\"rule\":\"allow address 127.0.0.1:" + up.port() + "\",\"requestId\":null}");
      assertThat(lines).filteredOn(l -> l.contains("\"status\":403")).singleElement().asString()
          .contains("\"user\":\"alice\"", "\"port\":9", "\"decision\":\"deny\"", "\"rule\":\"default deny loopback 127.0.0.0/8\"");
      assertThat(lines).filteredOn(l -> l.contains("\"status\":407")).singleElement().asString()
          .contains("\"user\":null", "\"decision\":null");
      assertThat(lines).filteredOn(l -> l.contains("\"method\":\"CONNECT\"")).singleElement().asString()
          .contains("\"user\":\"alice\"", "\"scheme\":null",
          "\"port\":" + dest.port(), "\"status\":200", "\"bytesIn\":3", "\"bytesOut\":5", "\"decision\":\"allow\"");
    }
  }

  @Test
  void aFileLogInCombinedFormatLosesNoLineOnClose(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("logs/access.log");
    int n = 300;
    try (RawUpstream up = RawUpstream.keepAlive("ok")) {
      ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port()))
          .accessLog(AccessLog.file(file, AccessLog.Format.COMBINED)));
      HttpClient client = Fwd.client(proxy);
      for (int i = 0; i < n; i++) {
        Fwd.send(client, Fwd.get("http://127.0.0.1:" + up.port() + "/r/" + i).header("Referer", "http://ref/\"x")
            .header("User-Agent", "test-agent").build());
      }
      proxy.close();
    }
    List<String> lines = Files.readAllLines(file);
    assertThat(lines).hasSize(n);
    assertThat(lines.get(7)).matches("127\\.0\\.0\\.1 - - \\[\\d{2}/\\w{3}/\\d{4}:\\d{2}:\\d{2}:\\d{2} \\+0000\\] "
        + "\"GET http://127\\.0\\.0\\.1:\\d+/r/7 HTTP/1\\.1\" 200 2 \"http://ref/\\\\\"x\" \"test-agent\"");
  }
}
