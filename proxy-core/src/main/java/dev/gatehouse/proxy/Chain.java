package dev.gatehouse.proxy;

import java.util.concurrent.CompletionStage;

/**
 * The rest of the filter chain, as seen from one filter.
 *
 * <p>{@link #proceed()} passes the exchange's request (with every change made so far) to the next
 * filter, and after the last one to the upstream. The returned stage completes with the upstream's
 * response once its status line and headers have arrived; the body streams afterwards. The stage
 * completes on the exchange's I/O thread.
 */
public interface Chain {

  /**
   * Sends the request onward. May be called from any thread, at most once per filter invocation; a
   * second call returns a stage failed with {@link IllegalStateException}.
   */
  CompletionStage<ProxyResponse> proceed();
}
