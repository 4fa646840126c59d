package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Engines;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Egress decisions, destinations kept out of the tags, and CONNECT tunnels in the forward proxy's metrics. */
@Timeout(30)
class ForwardMetricsTest {

  @Test
  void egressDecisionsAndTunnelsAreCountedWithoutDestinationTags() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    RecordingListener events = new RecordingListener();
    try (RawUpstream origin = RawUpstream.keepAlive("hi");
         TcpPeer dest = new TcpPeer(s -> {
           s.getInputStream().readNBytes(3);
           s.getOutputStream().write("12345".getBytes(StandardCharsets.US_ASCII));
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port(), dest.port()))
             .metrics(registry).addListener(events))) {
      String host = "127.0.0.1:" + origin.port();
      for (int i = 0; i < 2; i++) {
        assertThat(RawHttp.exchange(proxy.port(), "GET http://" + host + "/" + i + " HTTP/1.1\r\nHost: " + host
            + "\r\n\r\n").status).isEqualTo(200);
      }
      assertThat(RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n").status)
          .isEqualTo(403);
      String target = "127.0.0.1:" + dest.port();
      try (RawHttp c = RawHttp.connect(proxy.port())) {
        c.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
        assertThat(c.readResponse(true).status).isEqualTo(200);
        c.send("abc");
        assertThat(c.input().readNBytes(5)).hasSize(5);
      }
      events.awaitEnded(4);

      Engines.of(proxy).telemetry().refreshMetrics(); // as /metrics does
      String text = registry.scrape();
      assertThat(text).contains(
          "gatehouse_egress_decisions_total{decision=\"allow\",reason=\"allow address\"} 3",
          "gatehouse_egress_decisions_total{decision=\"deny\",reason=\"default deny loopback\"} 1",
          "gatehouse_requests_seconds_count{method=\"GET\",outcome=\"upstream\",route=\"none\",status=\"2xx\"} 2",
          "gatehouse_requests_seconds_count{method=\"CONNECT\",outcome=\"tunnel\",route=\"none\",status=\"2xx\"} 1",
          "gatehouse_upstream_attempts_seconds_count{group=\"none\",outcome=\"response\",server=\"none\",status=\"2xx\"} 2",
          "gatehouse_tunnels_total{kind=\"connect\"} 1",
          "gatehouse_tunnels_active 0",
          "gatehouse_tunnel_bytes_total{direction=\"upstream\"} 3",
          "gatehouse_tunnel_bytes_total{direction=\"downstream\"} 5",
          "gatehouse_upstream_connections{state=\"active\",upstream=\"none\"} 0",
          "gatehouse_upstream_pending{upstream=\"none\"} 0");
      assertThat(text).doesNotContain(String.valueOf(origin.port()) + "\"", "/0", "/1\"");
    }
  }
}
