package dev.gatehouse.proxy;

import java.util.concurrent.CompletionStage;

/**
 * Observes, modifies or short-circuits an exchange on its way to the upstream, and the response on its
 * way back. Filters run in registration order: the first filter added sees the request first and the
 * response last. Global filters (added on the builder) run first; route filters run inside them.
 *
 * <pre>
 *   client ──► filter A ──► filter B ──► route filters ──► upstream
 *   client ◄── filter A ◄── filter B ◄── route filters ◄── upstream
 * </pre>
 *
 * <p><b>Threading.</b> {@code filter} is called on an I/O thread and must not block: no JDBC, no
 * blocking HTTP calls, no {@code Thread.sleep}, no {@code CompletableFuture.join()}. Run blocking work
 * on {@link ProxyExchange#blockingExecutor()} and return the resulting stage. {@link Chain#proceed()}
 * may be called from any thread; the proxy moves back to the I/O thread by itself. A filter that holds
 * the I/O thread longer than the builder's {@code slowFilterThreshold} is logged with its name.
 *
 * <p><b>Completing.</b> Return {@code chain.proceed()} (optionally transformed with {@code thenApply}) to
 * continue, or answer without calling {@code proceed()} to short-circuit, e.g. {@code return
 * exchange.respond(401, "missing key");}: the upstream is then never contacted. Call {@code proceed()}
 * at most once. Never return {@code null}.
 *
 * <p><b>Errors.</b> A thrown exception and a failed stage are treated alike: both go to the {@link
 * ErrorHandler}, whose default answers 400 (a malformed or cut request body), 408 (a client that went
 * silent), 413 (a request body over a limit), 502 (the upstream unreachable or its response malformed,
 * or a response body over a limit), 503 (no upstream available), 504 (an upstream timeout) or 500
 * (anything else), each with a short plain-text body. Returning {@code null} or calling {@code
 * proceed()} twice is a programming error: the client gets a 500 and the log names the filter. The
 * response a filter sees from {@code proceed()} may also be one a module made: 404 (reverse: no route
 * matched), 403 (forward: the egress policy refused), 416 (the cache: an unsatisfiable range). Some
 * answers come before any filter runs: 400, 413, 414, 431 and 501 for a request the validator refuses,
 * 407 and 421 from the forward proxy's own first step; see {@link ErrorHandler} for the whole list.
 *
 * <pre>{@code
 * Filter requestId = (exchange, chain) -> {
 *   String id = exchange.request().headers().get("X-Request-Id").orElseGet(() -> UUID.randomUUID().toString());
 *   exchange.request().headers().set("X-Request-Id", id);
 *   return chain.proceed().thenApply(response -> {
 *     response.headers().set("X-Request-Id", id);
 *     return response;
 *   });
 * };
 * }</pre>
 */
@FunctionalInterface
public interface Filter {

  /**
   * Handles one exchange.
   *
   * @param exchange the request being proxied, with its attributes
   * @param chain the rest of the chain; {@code chain.proceed()} sends the request onward
   * @return the response to send back to the client; never {@code null}
   */
  CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain);

  /**
   * Returns a filter that behaves like {@code filter} and is called {@code name} in logs and error
   * messages (lambdas otherwise show up under their synthetic class name).
   */
  static Filter named(String name, Filter filter) {
    java.util.Objects.requireNonNull(name, "name");
    java.util.Objects.requireNonNull(filter, "filter");
    return new Filter() {
      @Override
      public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
        return filter.filter(exchange, chain);
      }

      @Override
      public String toString() {
        return name;
      }
    };
  }
}
