package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.ProxyRequest;
import dev.gatehouse.proxy.events.AttemptOutcome;
import dev.gatehouse.proxy.events.ExchangeInfo;
import dev.gatehouse.proxy.events.ExchangeOutcome;
import dev.gatehouse.proxy.events.ProxyListener;
import dev.gatehouse.proxy.events.UpstreamAttempt;
import dev.gatehouse.proxy.internal.server.Engine;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * OpenTelemetry tracing as a {@link ProxyListener}. W3C {@code traceparent} / {@code tracestate} are
 * always propagated (plus whatever the user's propagators carry): an incoming trace is continued, a new
 * one started otherwise, and each upstream attempt gets a span id of its own. With an SDK, each
 * exchange is a server span and each upstream attempt a client span, with the stable HTTP semantic
 * conventions; without one (a no-op {@link OpenTelemetry}) only the ids are made, so downstream
 * services still see one trace.
 */
final class OtelTracing implements ProxyListener {
  static final String SCOPE = "dev.gatehouse.proxy";
  private static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  private static final AttributeKey<String> METHOD_ORIGINAL = AttributeKey.stringKey("http.request.method_original");
  private static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  private static final AttributeKey<Long> RESEND_COUNT = AttributeKey.longKey("http.request.resend_count");
  private static final AttributeKey<String> URL_SCHEME = AttributeKey.stringKey("url.scheme");
  private static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");
  private static final AttributeKey<String> URL_FULL = AttributeKey.stringKey("url.full");
  private static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  private static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  private static final AttributeKey<String> CLIENT_ADDRESS = AttributeKey.stringKey("client.address");
  private static final AttributeKey<String> PEER_ADDRESS = AttributeKey.stringKey("network.peer.address");
  private static final AttributeKey<Long> PEER_PORT = AttributeKey.longKey("network.peer.port");
  private static final AttributeKey<String> PROTOCOL_VERSION = AttributeKey.stringKey("network.protocol.version");
  private static final AttributeKey<String> USER_AGENT = AttributeKey.stringKey("user_agent.original");
  private static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  private static final AttributeKey<String> ROUTE = AttributeKey.stringKey("gatehouse.route");
  private static final AttributeKey<String> GROUP = AttributeKey.stringKey("gatehouse.upstream.group");
  private static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("gatehouse.outcome");
  private static final Set<String> KNOWN_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT",
      "OPTIONS", "TRACE", "PATCH");

  private static final TextMapGetter<ProxyRequest> GETTER = (carrier, key) ->
      carrier == null ? null : carrier.headers().get(key).orElse(null);
  private static final TextMapSetter<ProxyRequest> SETTER = (carrier, key, value) -> {
    if (carrier != null) {
      carrier.headers().set(key, value);
    }
  };

  private final Tracer tracer;
  private final TextMapPropagator propagator;
  private final boolean recording;

  OtelTracing(OpenTelemetry otel) {
    this.tracer = otel.getTracer(SCOPE);
    this.propagator = TextMapPropagator.composite(W3CTraceContextPropagator.getInstance(),
        otel.getPropagators().getTextMapPropagator());
    this.recording = otel.getTracerProvider() != TracerProvider.noop();
  }

  /** Binds tracing to a built proxy ({@code otel} is an {@code OpenTelemetry}). */
  static void bind(Engine engine, OpenTelemetry otel) {
    engine.telemetry().addListener(new OtelTracing(otel));
  }

  // ---------------------------------------------------------------- the exchange: a server span

  @Override
  public void exchangeStarted(ExchangeInfo exchange) {
    ObservedExchange o = (ObservedExchange) exchange;
    ProxyRequest r = o.request();
    Context parent = propagator.extract(Context.root(), r, GETTER);
    if (!recording) {
      SpanContext in = Span.fromContext(parent).getSpanContext();
      o.trace = in.isValid() ? parent : parent.with(Span.wrap(SpanContext.create(newTraceId(), newSpanId(),
          TraceFlags.getSampled(), TraceState.getDefault())));
      return;
    }
    String method = r.method();
    var b = tracer.spanBuilder(KNOWN_METHODS.contains(method) ? method : "HTTP").setParent(parent)
        .setSpanKind(SpanKind.SERVER)
        .setAttribute(METHOD, KNOWN_METHODS.contains(method) ? method : "_OTHER")
        .setAttribute(URL_SCHEME, r.scheme())
        .setAttribute(PROTOCOL_VERSION, protocolVersion(r.protocol()))
        .setAttribute(CLIENT_ADDRESS, o.realClientIp())
        .setAttribute(PEER_ADDRESS, o.clientAddress().getAddress().getHostAddress())
        .setAttribute(PEER_PORT, (long) o.clientAddress().getPort());
    if (!KNOWN_METHODS.contains(method)) {
      b.setAttribute(METHOD_ORIGINAL, method);
    }
    if (!r.path().isEmpty()) {
      b.setAttribute(URL_PATH, r.path());
    }
    String authority = r.authority();
    if (!authority.isEmpty()) {
      b.setAttribute(SERVER_ADDRESS, host(authority));
      int port = port(authority, "https".equals(r.scheme()) ? 443 : 80);
      if (port > 0) {
        b.setAttribute(SERVER_PORT, (long) port);
      }
    }
    r.headers().get("User-Agent").ifPresent(ua -> b.setAttribute(USER_AGENT, ua));
    Span server = b.startSpan();
    o.trace = parent.with(server);
  }

  @Override
  public void routeChosen(ExchangeInfo exchange) {
    Span server = serverSpan((ObservedExchange) exchange);
    if (server != null) {
      server.setAttribute(ROUTE, ((ObservedExchange) exchange).route);
    }
  }

  @Override
  public void exchangeEnded(ExchangeInfo exchange) {
    ObservedExchange o = (ObservedExchange) exchange;
    Span server = serverSpan(o);
    if (server == null) {
      return;
    }
    int status = o.status();
    if (status > 0) {
      server.setAttribute(STATUS, (long) status);
    }
    server.setAttribute(OUTCOME, o.outcome.tag());
    Throwable error = o.error;
    if (error != null) {
      server.recordException(error);
    }
    if (status >= 500) {
      server.setAttribute(ERROR_TYPE, Integer.toString(status));
      server.setStatus(StatusCode.ERROR, error == null ? "status " + status : error.getClass().getName());
    } else if (o.outcome == ExchangeOutcome.ABORTED) {
      server.setAttribute(ERROR_TYPE, "aborted");
      server.setStatus(StatusCode.ERROR, "the response was not completed");
    }
    server.end();
  }

  private static Span serverSpan(ObservedExchange o) {
    if (!(o.trace instanceof Context)) {
      return null;
    }
    Span s = Span.fromContext((Context) o.trace);
    return s.getSpanContext().isValid() && s.isRecording() ? s : null;
  }

  // ---------------------------------------------------------------- upstream attempts: client spans

  @Override
  public void upstreamAttemptStarted(UpstreamAttempt attempt) {
    ObservedAttempt a = (ObservedAttempt) attempt;
    ObservedExchange o = a.exchange;
    if (!(o.trace instanceof Context)) {
      return;
    }
    Context exchangeContext = (Context) o.trace;
    ProxyRequest r = o.request();
    Context hop;
    if (!recording) {
      SpanContext base = Span.fromContext(exchangeContext).getSpanContext();
      hop = exchangeContext.with(Span.wrap(SpanContext.create(base.getTraceId(), newSpanId(), base.getTraceFlags(),
          base.getTraceState())));
    } else {
      String method = r.method();
      var b = tracer.spanBuilder(KNOWN_METHODS.contains(method) ? method : "HTTP").setParent(exchangeContext)
          .setSpanKind(SpanKind.CLIENT)
          .setAttribute(METHOD, KNOWN_METHODS.contains(method) ? method : "_OTHER")
          .setAttribute(SERVER_ADDRESS, a.host())
          .setAttribute(SERVER_PORT, (long) a.port())
          .setAttribute(URL_FULL, a.scheme() + "://" + hostForUri(a.host()) + ":" + a.port() + r.path());
      if (a.number > 1) {
        b.setAttribute(RESEND_COUNT, (long) (a.number - 1));
      }
      if (a.group != null) {
        b.setAttribute(GROUP, a.group);
      }
      Span client = b.startSpan();
      a.trace = client;
      hop = exchangeContext.with(client);
    }
    propagator.inject(hop, r, SETTER);
  }

  @Override
  public void upstreamAttemptEnded(UpstreamAttempt attempt) {
    ObservedAttempt a = (ObservedAttempt) attempt;
    if (!(a.trace instanceof Span)) {
      return;
    }
    Span client = (Span) a.trace;
    if (a.status > 0) {
      client.setAttribute(STATUS, (long) a.status);
    }
    client.setAttribute(OUTCOME, a.outcome.tag());
    if (a.error != null) {
      client.recordException(a.error);
      client.setAttribute(ERROR_TYPE, a.outcome.tag());
      client.setStatus(StatusCode.ERROR, a.outcome.tag() + ": " + a.error.getMessage());
    } else if (a.status >= 400) {
      client.setAttribute(ERROR_TYPE, Integer.toString(a.status));
      client.setStatus(StatusCode.ERROR);
    } else if (a.outcome != AttemptOutcome.RESPONSE) {
      client.setAttribute(ERROR_TYPE, a.outcome.tag());
      client.setStatus(StatusCode.ERROR);
    }
    client.end();
  }

  // ---------------------------------------------------------------- helpers

  private static String newTraceId() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi;
    long lo;
    do {
      hi = r.nextLong();
      lo = r.nextLong();
    } while (hi == 0 && lo == 0);
    return TraceId.fromLongs(hi, lo);
  }

  private static String newSpanId() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long id;
    do {
      id = r.nextLong();
    } while (id == 0);
    return SpanId.fromLong(id);
  }

  static String protocolVersion(String protocol) {
    switch (protocol) {
      case "HTTP/1.1":
        return "1.1";
      case "HTTP/1.0":
        return "1.0";
      case "HTTP/2.0":
        return "2";
      default:
        return protocol.startsWith("HTTP/") ? protocol.substring(5) : protocol;
    }
  }

  private static String host(String authority) {
    if (authority.startsWith("[")) {
      int end = authority.indexOf(']');
      return end > 0 ? authority.substring(1, end) : authority;
    }
    int colon = authority.lastIndexOf(':');
    return colon >= 0 ? authority.substring(0, colon) : authority;
  }

  private static int port(String authority, int defaultPort) {
    int colon = authority.lastIndexOf(':');
    if (colon < 0 || authority.indexOf(']', colon) >= 0) {
      return defaultPort;
    }
    try {
      return Integer.parseInt(authority.substring(colon + 1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String hostForUri(String host) {
    return host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  @Override
  public String toString() {
    return "tracing";
  }
}
