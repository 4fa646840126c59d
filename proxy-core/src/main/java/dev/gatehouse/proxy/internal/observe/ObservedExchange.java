package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.ProxyRequest;
import dev.gatehouse.proxy.events.ExchangeInfo;
import dev.gatehouse.proxy.events.ExchangeOutcome;
import dev.gatehouse.proxy.events.ProxyListener;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * The listeners' view of one exchange, made only when listeners are registered. Written on the
 * exchange's I/O thread (tunnel ends: on their thread, after the exchange's other events).
 */
public final class ObservedExchange implements ExchangeInfo {
  final ExchangeImpl ex;
  final ProxyListener[] listeners;
  final Telemetry telemetry;
  /** The route's name, or null (read directly by the metrics binder: no Optional per exchange). */
  String route;
  /** The upstream group and server of the attempts that follow, or null. */
  String group;
  String server;
  int attempts;
  Throwable error;
  boolean committed;
  boolean fromUpstream;
  boolean tunnel;
  /** The filter chain ran (the request was not refused or answered by the proxy at once). */
  boolean chain;
  /** The committed response could not be completed. */
  boolean aborted;
  boolean ended;
  long endNanos;
  ExchangeOutcome outcome = ExchangeOutcome.IN_PROGRESS;
  /** Tracing's state for this exchange (its server span), or null. */
  public Object trace;

  ObservedExchange(ExchangeImpl ex, ProxyListener[] listeners, Telemetry telemetry) {
    this.ex = ex;
    this.listeners = listeners;
    this.telemetry = telemetry;
  }

  /** The engine's exchange. */
  public ExchangeImpl exchange() {
    return ex;
  }

  /** The route's name, or null. */
  public String routeName() {
    return route;
  }

  @Override
  public Optional<String> route() {
    return Optional.ofNullable(route);
  }

  @Override
  public int status() {
    if (!committed && ended && outcome == ExchangeOutcome.ABORTED) {
      return 0; // the client went away before any response: Undertow's default 200 was never sent
    }
    return ex.responseStatus();
  }

  @Override
  public boolean responseFromUpstream() {
    return fromUpstream;
  }

  @Override
  public Optional<Throwable> error() {
    return Optional.ofNullable(error);
  }

  @Override
  public int upstreamAttempts() {
    return attempts;
  }

  @Override
  public long requestBodyBytes() {
    return ex.requestBodyBytes();
  }

  @Override
  public long responseBodyBytes() {
    return ex.responseBodyBytes();
  }

  @Override
  public ExchangeOutcome outcome() {
    return outcome;
  }

  @Override
  public long durationNanos() {
    return (ended ? endNanos : System.nanoTime()) - ex.startNanos();
  }

  /** Works out how the exchange ended; called once, when it has. */
  ExchangeOutcome conclude() {
    if (tunnel) {
      return ExchangeOutcome.TUNNEL;
    }
    if (aborted || (!committed && chain)) {
      return ExchangeOutcome.ABORTED; // cut short, or the client left before any response
    }
    if (!committed) {
      return ex.responseStatus() >= 400 ? ExchangeOutcome.REJECTED : ExchangeOutcome.LOCAL;
    }
    if (error != null) {
      return ExchangeOutcome.ERROR;
    }
    return fromUpstream ? ExchangeOutcome.UPSTREAM : ExchangeOutcome.LOCAL;
  }

  // ---------------------------------------------------------------- ProxyExchange

  @Override
  public ProxyRequest request() {
    return ex.request();
  }

  @Override
  public InetSocketAddress clientAddress() {
    return ex.clientAddress();
  }

  @Override
  public InetSocketAddress localAddress() {
    return ex.localAddress();
  }

  @Override
  public String realClientIp() {
    return ex.realClientIp();
  }

  @Override
  public boolean isSecure() {
    return ex.isSecure();
  }

  @Override
  public <T> Optional<T> attribute(AttributeKey<T> key) {
    return ex.attribute(key);
  }

  @Override
  public <T> void attribute(AttributeKey<T> key, T value) {
    ex.attribute(key, value);
  }

  @Override
  public Executor blockingExecutor() {
    return ex.blockingExecutor();
  }

  @Override
  public long startNanos() {
    return ex.startNanos();
  }

  @Override
  public java.util.List<java.security.cert.X509Certificate> peerCertificates() {
    return ex.peerCertificates();
  }

  @Override
  public void onComplete(Runnable callback) {
    ex.onComplete(callback);
  }

  @Override
  public String toString() {
    return ex.toString();
  }
}
