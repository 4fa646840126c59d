package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.ClientTimeoutException;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.UpstreamUnavailableException;
import dev.gatehouse.proxy.events.AttemptOutcome;
import dev.gatehouse.proxy.events.ExchangeInfo;
import dev.gatehouse.proxy.events.UpstreamAttempt;
import dev.gatehouse.proxy.spi.Endpoint;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.CancellationException;

/** The listeners' view of one upstream attempt; written on the exchange's I/O thread. */
public final class ObservedAttempt implements UpstreamAttempt {
  final ObservedExchange exchange;
  final int number;
  final String group;
  final String server;
  final Endpoint endpoint;
  final long startNanos = System.nanoTime();
  long endNanos;
  int status;
  Throwable error;
  AttemptOutcome outcome = AttemptOutcome.IN_PROGRESS;
  /** Tracing's state for this attempt (its client span), or null. */
  public Object trace;

  ObservedAttempt(ObservedExchange exchange, int number, String group, String server, Endpoint endpoint) {
    this.exchange = exchange;
    this.number = number;
    this.group = group;
    this.server = server;
    this.endpoint = endpoint;
  }

  /** The group's name or null (read by the metrics binder without an Optional). */
  public String groupName() {
    return group;
  }

  /** The server key of a group member, or null outside a group. */
  public String serverKey() {
    return server;
  }

  /** The exchange's observed view. */
  public ObservedExchange observedExchange() {
    return exchange;
  }

  @Override
  public ExchangeInfo exchange() {
    return exchange;
  }

  @Override
  public int number() {
    return number;
  }

  @Override
  public Optional<String> group() {
    return Optional.ofNullable(group);
  }

  @Override
  public String upstream() {
    return server != null ? server : endpoint.scheme() + "://" + hostForUri() + ":" + endpoint.port();
  }

  private String hostForUri() {
    String h = endpoint.host();
    return h.indexOf(':') >= 0 && !h.startsWith("[") ? "[" + h + "]" : h;
  }

  @Override
  public String host() {
    return endpoint.host();
  }

  @Override
  public int port() {
    return endpoint.port();
  }

  /** The upstream's scheme, {@code http} or {@code https}. */
  public String scheme() {
    return endpoint.scheme();
  }

  @Override
  public int status() {
    return status;
  }

  @Override
  public AttemptOutcome outcome() {
    return outcome;
  }

  @Override
  public Optional<Throwable> error() {
    return Optional.ofNullable(error);
  }

  @Override
  public long startNanos() {
    return startNanos;
  }

  @Override
  public long durationNanos() {
    return (outcome == AttemptOutcome.IN_PROGRESS ? System.nanoTime() : endNanos) - startNanos;
  }

  /** What a failure means for the attempt. */
  static AttemptOutcome classify(Throwable e) {
    if (e == null) {
      return AttemptOutcome.RESPONSE;
    }
    if (e instanceof CancellationException) {
      return AttemptOutcome.CANCELLED;
    }
    if (e instanceof UpstreamConnectException) {
      return AttemptOutcome.CONNECT_ERROR;
    }
    if (e instanceof UpstreamTimeoutException) {
      return AttemptOutcome.TIMEOUT;
    }
    if (e instanceof UpstreamUnavailableException) {
      return AttemptOutcome.REJECTED;
    }
    if (e instanceof UpstreamResponseException) {
      String m = String.valueOf(e.getMessage());
      return e.getCause() instanceof IOException || m.contains(" reset ") || m.contains("closed the connection")
          ? AttemptOutcome.RESET : AttemptOutcome.PROTOCOL_ERROR;
    }
    if (e instanceof ClientTimeoutException) {
      return AttemptOutcome.CANCELLED;
    }
    if (e instanceof IOException) {
      return AttemptOutcome.RESET; // a tunnel that broke
    }
    return AttemptOutcome.FAILED;
  }

  @Override
  public String toString() {
    return "UpstreamAttempt(#" + number + " " + upstream() + " " + outcome.tag() + ")";
  }
}
