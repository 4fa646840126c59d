package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs filters in registration order around a final step. Each filter gets its own {@link Chain} whose
 * {@code proceed()} may be called once, from any thread: off the I/O thread the call hops back onto it.
 */
public final class FilterChain {
  private static final Logger log = LoggerFactory.getLogger(FilterChain.class);

  private FilterChain() {}

  /** Runs {@code filters} then {@code last}; must be called on the exchange's I/O thread. */
  public static <X extends ChainContext> CompletionStage<ProxyResponse> run(X exchange, List<Filter> filters,
      Function<X, CompletionStage<ProxyResponse>> last) {
    return invoke(exchange, filters, 0, last);
  }

  static <X extends ChainContext> CompletionStage<ProxyResponse> invoke(X exchange, List<Filter> filters, int index,
      Function<X, CompletionStage<ProxyResponse>> last) {
    if (exchange.isFinished()) {
      return CompletableFuture.failedFuture(new IllegalStateException("exchange already finished"));
    }
    if (index == filters.size()) {
      try {
        CompletionStage<ProxyResponse> stage = last.apply(exchange);
        return stage != null ? stage : CompletableFuture.failedFuture(new IllegalStateException("terminal returned null"));
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    Filter filter = filters.get(index);
    Step<X> next = new Step<>(exchange, filters, index + 1, last, filter);
    long threshold = exchange.slowFilterThresholdNanos();
    long start = threshold > 0 ? System.nanoTime() : 0;
    CompletionStage<ProxyResponse> stage;
    try {
      stage = filter.filter(exchange, next);
    } catch (RuntimeException | Error e) {
      log.warn("filter {} threw while handling {}", nameOf(filter), exchange.request(), e);
      return CompletableFuture.failedFuture(e);
    }
    if (threshold > 0) {
      // only the filter's own time: what the rest of the chain did synchronously inside proceed() is not its
      long took = System.nanoTime() - start - next.nestedNanos;
      if (took > threshold) {
        log.warn("filter {} ran {} ms on I/O thread {} (expected: < {} ms); move blocking work to exchange.blockingExecutor()",
            nameOf(filter), took / 1_000_000, Thread.currentThread().getName(), threshold / 1_000_000);
      }
    }
    if (stage == null) {
      IllegalStateException e = new IllegalStateException("filter " + nameOf(filter)
          + " returned null (expected: a CompletionStage; return chain.proceed() to continue)");
      log.error(e.getMessage());
      exchange.misuse(e);
      return CompletableFuture.failedFuture(e);
    }
    return stage;
  }

  /** A filter's name for logs: its toString() if overridden, else its class name. */
  public static String nameOf(Filter filter) {
    String s = filter.toString();
    String cls = filter.getClass().getName();
    if (s.startsWith(cls + "@")) {
      int lambda = cls.indexOf("$$Lambda");
      return lambda > 0 ? cls.substring(0, lambda) + " (lambda)" : cls;
    }
    return s;
  }

  private static final class Step<X extends ChainContext> implements Chain {
    private final X exchange;
    private final List<Filter> filters;
    private final int index;
    private final Function<X, CompletionStage<ProxyResponse>> last;
    private final Filter caller;
    private boolean proceeded;
    /** Time spent synchronously in the rest of the chain during proceed(). */
    long nestedNanos;

    Step(X exchange, List<Filter> filters, int index, Function<X, CompletionStage<ProxyResponse>> last,
        Filter caller) {
      this.exchange = exchange;
      this.filters = filters;
      this.index = index;
      this.last = last;
      this.caller = caller;
    }

    @Override
    public CompletionStage<ProxyResponse> proceed() {
      synchronized (this) {
        if (proceeded) {
          IllegalStateException e = new IllegalStateException("filter " + nameOf(caller) + " called proceed() more than once");
          log.error(e.getMessage());
          exchange.misuse(e);
          return CompletableFuture.failedFuture(e);
        }
        proceeded = true;
      }
      if (exchange.inIoThread()) {
        long start = System.nanoTime();
        try {
          return invoke(exchange, filters, index, last);
        } finally {
          nestedNanos += System.nanoTime() - start;
        }
      }
      CompletableFuture<ProxyResponse> hop = new CompletableFuture<>();
      try {
        exchange.executeOnIoThread(() -> invoke(exchange, filters, index, last).whenComplete((r, e) -> {
          if (e != null) {
            hop.completeExceptionally(e);
          } else {
            hop.complete(r);
          }
        }));
      } catch (RuntimeException e) {
        hop.completeExceptionally(e);
      }
      return hop;
    }
  }
}
