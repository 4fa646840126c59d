package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.http.Fault;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A retried request: one server span, one client span per attempt, each hop with its own span id. */
@Timeout(60)
class ReverseTracingTest {

  @Test
  void retriesAreSeparateClientSpansOfOneServerSpan() throws Exception {
    InMemorySpanExporter exporter = InMemorySpanExporter.create();
    RecordingListener events = new RecordingListener();
    try (SdkTracerProvider tp = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
         Backends backends = Backends.start(2)) {
      backends.get(0).stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
      UpstreamGroup pair = UpstreamGroup.builder().name("pair").add(backends.url(0), 1000).add(backends.url(1), 1).build();
      try (ProxyServer proxy = ReverseProxy.builder().tracing(OpenTelemetrySdk.builder().setTracerProvider(tp).build())
          .addListener(events).addRoute(Route.any().name("all").to(pair)).build().start()) {
        assertThat(Backends.get(proxy.port(), "/r").body()).isEqualTo("b1");
        events.awaitEnded(1);
      }

      List<SpanData> spans = exporter.getFinishedSpanItems();
      assertThat(spans).hasSize(3);
      SpanData server = spans.stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow();
      List<SpanData> clients = spans.stream().filter(s -> s.getKind() == SpanKind.CLIENT)
          .sorted(Comparator.comparingLong(SpanData::getStartEpochNanos)).toList();
      assertThat(server.getAttributes().get(AttributeKey.stringKey("gatehouse.route"))).isEqualTo("all");
      assertThat(clients).hasSize(2).allSatisfy(c -> {
        assertThat(c.getParentSpanId()).isEqualTo(server.getSpanId());
        assertThat(c.getAttributes().get(AttributeKey.stringKey("gatehouse.upstream.group"))).isEqualTo("pair");
      });
      SpanData first = clients.get(0);
      SpanData retry = clients.get(1);
      assertThat(first.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
      assertThat(first.getAttributes().get(AttributeKey.stringKey("error.type"))).isEqualTo("reset");
      assertThat(first.getAttributes().get(AttributeKey.longKey("server.port"))).isEqualTo((long) backends.get(0).port());
      assertThat(retry.getAttributes().get(AttributeKey.longKey("http.request.resend_count"))).isEqualTo(1L);
      assertThat(retry.getAttributes().get(AttributeKey.longKey("http.response.status_code"))).isEqualTo(200L);
      assertThat(retry.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
      // each attempt carried its own span id
      assertThat(backends.get(0).findAll(anyRequestedFor(anyUrl())).get(0).getHeader("traceparent"))
          .contains(first.getSpanId());
      assertThat(backends.get(1).findAll(anyRequestedFor(anyUrl())).get(0).getHeader("traceparent"))
          .contains(retry.getSpanId());
    }
  }
}
