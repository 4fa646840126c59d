package dev.gatehouse.proxy.events;

import dev.gatehouse.proxy.ProxyExchange;
import java.util.Optional;

/**
 * An exchange as a {@link ProxyListener} sees it: the {@link ProxyExchange} (request, client,
 * attributes) plus what the proxy did with it so far. Values change as the exchange goes on; read them
 * in the event that makes them final (the status in {@link ProxyListener#responseCommitted}, the byte
 * counts and the outcome in {@link ProxyListener#exchangeEnded}). Listeners must not change the
 * exchange.
 */
public interface ExchangeInfo extends ProxyExchange {

  /** The name of the route the reverse proxy chose, once chosen; empty in a forward proxy. */
  Optional<String> route();

  /** The status sent to the client; 0 until the response head is committed. */
  int status();

  /** Whether the response came from an upstream (rather than a filter, the proxy or the error handler). */
  boolean responseFromUpstream();

  /**
   * The failure the {@link dev.gatehouse.proxy.ErrorHandler} turned into the response, unwrapped from
   * {@code CompletionException}; empty when the response was not an error answer.
   */
  Optional<Throwable> error();

  /** How many upstream attempts were started so far (retries included). */
  int upstreamAttempts();

  /** Request body bytes read from the client; for a {@code CONNECT} tunnel, bytes from the client. */
  long requestBodyBytes();

  /** Response body bytes written to the client; for a {@code CONNECT} tunnel, bytes to the client. */
  long responseBodyBytes();

  /** How the exchange ended; {@link ExchangeOutcome#IN_PROGRESS} before {@link ProxyListener#exchangeEnded}. */
  ExchangeOutcome outcome();

  /**
   * Nanoseconds from {@link #startNanos()} until the exchange ended, or until now while it runs.
   */
  long durationNanos();
}
