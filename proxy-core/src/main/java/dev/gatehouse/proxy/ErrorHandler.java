package dev.gatehouse.proxy;

/**
 * Turns a failure into the response the client gets. Called on the I/O thread; must not block and must
 * not throw.
 *
 * <p>The {@linkplain #defaults() default} maps {@link UpstreamConnectException} and {@link
 * UpstreamResponseException} to 502, {@link UpstreamTimeoutException} to 504, {@link
 * BodyTooLargeException} to 413 (request body) or 502 (response body), and anything else to 500, each
 * with a short plain-text body and never a stack trace.
 *
 * <p>Not called once the response has started: the headers are gone, so the proxy closes the client
 * connection instead, and the client sees a truncated message.
 */
@FunctionalInterface
public interface ErrorHandler {

  /**
   * Returns the response for {@code error}.
   *
   * @param exchange the failed exchange
   * @param error the failure, unwrapped from {@code CompletionException}
   * @param duringResponse whether the failure happened while reading the upstream response (so a body
   *     limit maps to 502 rather than 413)
   */
  ProxyResponse handle(ProxyExchange exchange, Throwable error, boolean duringResponse);

  /** The default mapping described above. */
  static ErrorHandler defaults() {
    return dev.gatehouse.proxy.internal.server.DefaultErrorHandler.INSTANCE;
  }
}
