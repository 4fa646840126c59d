package dev.gatehouse.proxy.events;

import java.util.Optional;

/**
 * One try to get a response from an upstream: the first, or a retry. Shown to {@link
 * ProxyListener#upstreamAttemptStarted} and {@link ProxyListener#upstreamAttemptEnded}.
 */
public interface UpstreamAttempt {

  /** The exchange this attempt serves. */
  ExchangeInfo exchange();

  /** 1 for the first attempt of the exchange, 2 for the first retry, and so on. */
  int number();

  /** The upstream group's name (reverse proxy); empty in a forward proxy. */
  Optional<String> group();

  /** The upstream as {@code scheme://host:port}, e.g. {@code http://10.0.0.5:8080}. */
  String upstream();

  /** The upstream's host name or address. */
  String host();

  /** The upstream's port. */
  int port();

  /** The status of the upstream's final response head; 0 when none arrived (yet). */
  int status();

  /** How the attempt ended; {@link AttemptOutcome#IN_PROGRESS} until {@link ProxyListener#upstreamAttemptEnded}. */
  AttemptOutcome outcome();

  /** Why the attempt failed, unwrapped; empty when it succeeded or is still running. */
  Optional<Throwable> error();

  /** {@link System#nanoTime()} when the attempt started. */
  long startNanos();

  /** Nanoseconds the attempt took (until its response was read completely or it failed), or so far. */
  long durationNanos();
}
