package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * The engine's view of an exchange, for the direction modules' terminals and steps: what the request
 * looked like on the wire, the client connection, and sending the request upstream. Everything here
 * runs on the exchange's I/O thread unless said otherwise.
 */
public interface Exchange extends ProxyExchange {

  /**
   * The request-target as the client sent it, without the query: a path (origin-form), a whole URI
   * (absolute-form, see {@link #absoluteFormTarget()}), {@code host:port} for {@code CONNECT}, or
   * {@code *}.
   */
  String requestTarget();

  /** Whether the client sent the request-target in absolute-form ({@code GET http://host/path}). */
  boolean absoluteFormTarget();

  /** The client's {@code Proxy-Authorization} field, which is never forwarded; null when it sent none. */
  @Nullable String proxyAuthorization();

  /** Closes the client connection once this response is sent (a request the proxy cannot trust). */
  void closeConnectionAfterResponse();

  /** Sets the request's scheme, e.g. {@code https} for a request decrypted from an intercepted tunnel. */
  void scheme(String scheme);

  /**
   * A value the client connection carries for every request on it (e.g. the intercepted tunnel a
   * decrypted connection came through), if any.
   */
  <T> Optional<T> connectionAttribute(AttributeKey<T> key);

  /** Whether the exchange is over (the response was sent, or the client left). */
  boolean isFinished();

  /**
   * Keeps up to {@code limit} bytes of the request body as it is sent, so that a retry can send it again
   * (a body with a declared length above the limit, or with body transformers, is not kept). Call
   * before the first upstream call.
   */
  void enableRequestReplay(long limit);

  /** Whether another upstream call can still send the whole request (no body, or a body kept in full). */
  boolean canResendRequest();

  /**
   * Sends the request, as filters left it, to {@code endpoint} with per-call {@code options} (timeouts,
   * pool, listener) and returns the started call. May be called again after a failed call (a retry)
   * when {@link #canResendRequest()}.
   */
  UpstreamCall call(Endpoint endpoint, CallOptions options);

  /** Sends the request to {@code endpoint}; the stage completes with the response head. */
  CompletionStage<ProxyResponse> forwardTo(Endpoint endpoint);

  /**
   * Sends the request to {@code endpoint} with another request-target (e.g. absolute-form through a
   * parent proxy) and {@code extraFields} appended to the head (e.g. {@code Proxy-Authorization} for
   * that parent).
   */
  CompletionStage<ProxyResponse> forwardTo(Endpoint endpoint, @Nullable String requestTarget,
      List<HeaderField> extraFields);

  /** Tells the proxy's listeners which route the request matched. */
  void routeChosen(String route);

  /** Tells the proxy's listeners which server of which group a try goes to. */
  void upstreamChosen(String group, String server);
}
