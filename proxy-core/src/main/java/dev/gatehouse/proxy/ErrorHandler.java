package dev.gatehouse.proxy;

/**
 * Turns a failure into the response the client gets. Called on the I/O thread; must not block and must
 * not throw (a handler that throws or returns null is logged, and the default answers instead).
 *
 * <p>The {@linkplain #defaults() default} answers with a short plain-text body, never a stack trace:
 *
 * <ul>
 *   <li>400 for a {@link MalformedRequestException} (a request body with broken framing, a client that
 *       left mid-body);
 *   <li>408 for a {@link ClientTimeoutException} (a client that sent or read nothing for {@code
 *       idleTimeout});
 *   <li>413 for a {@link BodyTooLargeException} in the {@link Phase#REQUEST request}, 502 in the
 *       {@link Phase#RESPONSE response};
 *   <li>502 for an {@link UpstreamConnectException} or an {@link UpstreamResponseException} (the upstream
 *       cannot be reached, refused the TLS handshake, reset the connection, or sent a malformed
 *       response);
 *   <li>503 for an {@link UpstreamUnavailableException} (no server available, connection limit and queue
 *       full, proxy shutting down);
 *   <li>504 for an {@link UpstreamTimeoutException} (connect, read, write, try or total timeout);
 *   <li>500 for anything else (a filter that threw, a misused chain).
 * </ul>
 *
 * <p>Besides these, the engine answers some requests without calling the handler: 400 (a request the
 * validator refuses: both {@code Content-Length} and {@code Transfer-Encoding}, an invalid length, a
 * malformed HTTP/2 request, a forward-proxy target that is not absolute-form), 413 (a declared body
 * over {@code maxRequestBodySize}), 414 (a request line over {@code maxRequestLineLength}), 431 (header
 * fields over {@code maxHeaderBytes} or {@code maxHeaderCount}) and 501 (a transfer coding other than
 * chunked), each closing the connection; 200 for {@code OPTIONS} or {@code TRACE} with {@code
 * Max-Forwards: 0}; 416 from the cache for an unsatisfiable range. The modules answer 404 (reverse: no
 * route matches), 403 (forward: egress policy), 407 (forward: proxy authentication), 421 (forward: a
 * decrypted request for another host than its tunnel's), and the gateway filters 401, 403, 405, 415
 * and 429.
 *
 * <p>Not called once the response has started: the headers are gone, so the proxy closes the client
 * connection instead, and the client sees a truncated message.
 */
@FunctionalInterface
public interface ErrorHandler {

  /** Where a failure happened. */
  enum Phase {
    /**
     * Before the upstream's response: in a filter, sending the request, connecting, or waiting for the
     * response head (a body limit here is the client's: 413).
     */
    REQUEST,
    /**
     * While reading the upstream's response body, before anything of it was sent to the client (a body
     * limit here is the upstream's: 502).
     */
    RESPONSE
  }

  /**
   * Returns the response for {@code error}.
   *
   * @param exchange the failed exchange
   * @param error the failure, unwrapped from {@code CompletionException}
   * @param phase where it happened
   */
  ProxyResponse handle(ProxyExchange exchange, Throwable error, Phase phase);

  /** The default mapping described above. */
  static ErrorHandler defaults() {
    return dev.gatehouse.proxy.internal.server.DefaultErrorHandler.INSTANCE;
  }
}
