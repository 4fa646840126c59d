package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import dev.gatehouse.proxy.testsupport.TestProxy;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** W3C trace context through the proxy, and the spans an SDK records (checked in its in-memory exporter). */
@Timeout(30)
class TracingTest {
  static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final String PARENT = "00f067aa0ba902b7";

  final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  final SdkTracerProvider tracerProvider = SdkTracerProvider.builder()
      .addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
  final OpenTelemetry sdk = OpenTelemetrySdk.builder().setTracerProvider(tracerProvider).build();
  final RecordingListener events = new RecordingListener();

  @AfterEach
  void shutDown() {
    tracerProvider.close();
  }

  private static String traceparent(RawUpstream.Request r) {
    return r.header("traceparent");
  }

  private List<SpanData> spans(int n) throws InterruptedException {
    events.awaitEnded(1);
    List<SpanData> spans = exporter.getFinishedSpanItems();
    assertThat(spans).hasSize(n);
    return spans;
  }

  private static SpanData kind(List<SpanData> spans, SpanKind kind) {
    return spans.stream().filter(s -> s.getKind() == kind).findFirst().orElseThrow();
  }

  @Test
  void anIncomingTraceIsContinuedWithAServerSpanAndAClientSpanAndANewSpanIdTowardTheUpstream() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).tracing(sdk).addListener(events).build().start()) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET /orders/7?x=1 HTTP/1.1\r\nHost: shop.test:8080\r\n"
          + "User-Agent: tester\r\ntraceparent: 00-" + TRACE_ID + "-" + PARENT + "-01\r\ntracestate: vendor=abc\r\n\r\n");
      assertThat(r.status).isEqualTo(200);
      RawUpstream.Request received = up.nextRequest();

      List<SpanData> spans = spans(2);
      SpanData server = kind(spans, SpanKind.SERVER);
      SpanData client = kind(spans, SpanKind.CLIENT);
      assertThat(server.getTraceId()).isEqualTo(TRACE_ID);
      assertThat(server.getParentSpanId()).isEqualTo(PARENT);
      assertThat(client.getTraceId()).isEqualTo(TRACE_ID);
      assertThat(client.getParentSpanId()).isEqualTo(server.getSpanId());
      assertThat(traceparent(received)).isEqualTo("00-" + TRACE_ID + "-" + client.getSpanId() + "-01");
      assertThat(received.header("tracestate")).isEqualTo("vendor=abc");

      assertThat(server.getName()).isEqualTo("GET");
      assertThat(server.getAttributes().get(AttributeKey.stringKey("http.request.method"))).isEqualTo("GET");
      assertThat(server.getAttributes().get(AttributeKey.longKey("http.response.status_code"))).isEqualTo(200L);
      assertThat(server.getAttributes().get(AttributeKey.stringKey("url.path"))).isEqualTo("/orders/7");
      assertThat(server.getAttributes().get(AttributeKey.stringKey("url.scheme"))).isEqualTo("http");
      assertThat(server.getAttributes().get(AttributeKey.stringKey("server.address"))).isEqualTo("shop.test");
      assertThat(server.getAttributes().get(AttributeKey.longKey("server.port"))).isEqualTo(8080L);
      assertThat(server.getAttributes().get(AttributeKey.stringKey("network.protocol.version"))).isEqualTo("1.1");
      assertThat(server.getAttributes().get(AttributeKey.stringKey("user_agent.original"))).isEqualTo("tester");
      assertThat(server.getAttributes().get(AttributeKey.stringKey("client.address"))).isEqualTo("127.0.0.1");
      assertThat(server.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);

      assertThat(client.getName()).isEqualTo("GET");
      assertThat(client.getAttributes().get(AttributeKey.stringKey("server.address"))).isEqualTo("127.0.0.1");
      assertThat(client.getAttributes().get(AttributeKey.longKey("server.port"))).isEqualTo((long) up.port());
      assertThat(client.getAttributes().get(AttributeKey.stringKey("url.full")))
          .isEqualTo("http://127.0.0.1:" + up.port() + "/orders/7");
      assertThat(client.getAttributes().get(AttributeKey.longKey("http.response.status_code"))).isEqualTo(200L);
      assertThat(client.getAttributes().get(AttributeKey.longKey("http.request.resend_count"))).isNull();
    }
  }

  @Test
  void aRequestWithoutTraceContextStartsANewTrace() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).tracing(sdk).addListener(events).build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(200);
      RawUpstream.Request received = up.nextRequest();

      List<SpanData> spans = spans(2);
      SpanData server = kind(spans, SpanKind.SERVER);
      SpanData client = kind(spans, SpanKind.CLIENT);
      assertThat(server.getParentSpanContext().isValid()).isFalse();
      assertThat(client.getTraceId()).isEqualTo(server.getTraceId());
      assertThat(traceparent(received)).isEqualTo("00-" + server.getTraceId() + "-" + client.getSpanId() + "-"
          + client.getSpanContext().getTraceFlags().asHex());
      assertThat(client.getSpanContext().isSampled()).isTrue();
    }
  }

  @Test
  void anUnsampledIncomingTraceIsContinuedUnsampledAndRecordsNothing() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).tracing(sdk).addListener(events).build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\ntraceparent: 00-" + TRACE_ID + "-"
          + PARENT + "-00\r\n\r\n").status).isEqualTo(200);
      String sent = traceparent(up.nextRequest());

      spans(0);
      assertThat(sent).startsWith("00-" + TRACE_ID + "-").endsWith("-00").doesNotContain(PARENT);
    }
  }

  @Test
  void aRefusedUpstreamIsAnErrorSpanWithItsCause() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    try (ProxyServer proxy = TestProxy.builder().upstream("http://127.0.0.1:" + closed).tracing(sdk)
        .addListener(events).build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(502);

      List<SpanData> spans = spans(2);
      SpanData client = kind(spans, SpanKind.CLIENT);
      assertThat(client.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
      assertThat(client.getAttributes().get(AttributeKey.stringKey("error.type"))).isEqualTo("connect-error");
      assertThat(client.getEvents()).anySatisfy(e -> {
        assertThat(e.getName()).isEqualTo("exception");
        assertThat(e.getAttributes().get(AttributeKey.stringKey("exception.type")))
            .isEqualTo(UpstreamConnectException.class.getName());
        assertThat(e.getAttributes().get(AttributeKey.stringKey("exception.message"))).contains("Connection refused");
      });
      SpanData server = kind(spans, SpanKind.SERVER);
      assertThat(server.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
      assertThat(server.getAttributes().get(AttributeKey.longKey("http.response.status_code"))).isEqualTo(502L);
      assertThat(server.getAttributes().get(AttributeKey.stringKey("error.type"))).isEqualTo("502");
    }
  }

  @Test
  void aSlowUpstreamIsATimeoutSpan() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          release.await(20, TimeUnit.SECONDS);
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).readTimeout(Duration.ofMillis(200)).tracing(sdk)
             .addListener(events).build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(504);
      release.countDown();

      SpanData client = kind(spans(2), SpanKind.CLIENT);
      assertThat(client.getAttributes().get(AttributeKey.stringKey("error.type"))).isEqualTo("timeout");
      assertThat(client.getStatus().getDescription()).startsWith("timeout: ");
    }
  }

  @Test
  void withoutAnSdkTheContextIsStillPropagatedWithANewSpanIdPerHop() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).tracing(OpenTelemetry.noop()).build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\ntraceparent: 00-" + TRACE_ID + "-"
          + PARENT + "-01\r\ntracestate: k=v\r\n\r\n").status).isEqualTo(200);
      RawUpstream.Request continued = up.nextRequest();
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(200);
      RawUpstream.Request started = up.nextRequest();

      assertThat(traceparent(continued)).matches("00-" + TRACE_ID + "-[0-9a-f]{16}-01").doesNotContain(PARENT);
      assertThat(continued.header("tracestate")).isEqualTo("k=v");
      assertThat(traceparent(started)).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01").doesNotContain(TRACE_ID);
    }
  }

  @Test
  void withoutTracingTraceHeadersPassThroughUntouched() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok"); ProxyServer proxy = TestProxy.to(up.url())) {
      String tp = "00-" + TRACE_ID + "-" + PARENT + "-01";
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\ntraceparent: " + tp + "\r\n\r\n").status)
          .isEqualTo(200);

      assertThat(traceparent(up.nextRequest())).isEqualTo(tp);
    }
  }

  @Test
  void aMalformedIncomingTraceparentStartsANewTraceAndIsNotForwarded() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).tracing(sdk).addListener(events).build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\ntraceparent: 00-zz-yy-01\r\n\r\n").status)
          .isEqualTo(200);
      String sent = traceparent(up.nextRequest());

      SpanData server = kind(spans(2), SpanKind.SERVER);
      assertThat(sent).startsWith("00-" + server.getTraceId() + "-").doesNotContain("zz");
    }
  }
}
