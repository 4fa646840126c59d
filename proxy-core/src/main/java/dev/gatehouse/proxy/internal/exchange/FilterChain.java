package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyResponse;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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
    long start = !filters.isEmpty() && exchange.slowFilterThresholdNanos() > 0 ? System.nanoTime() : 0;
    return invoke(exchange, filters, 0, last, null, start);
  }

  /**
   * Runs filter {@code index} (or {@code last}). With the slow-filter check on, {@code start} is the time
   * it starts and the caller's {@link Step} learns how long the rest of the chain ran synchronously: two
   * clock reads per filter, the end of one step being the time its caller's own work resumes.
   */
  static <X extends ChainContext> CompletionStage<ProxyResponse> invoke(X exchange, List<Filter> filters, int index,
      Function<X, CompletionStage<ProxyResponse>> last, Step<X> caller, long start) {
    if (exchange.isFinished()) {
      return CompletableFuture.failedFuture(new IllegalStateException("exchange already finished"));
    }
    long threshold = exchange.slowFilterThresholdNanos();
    if (threshold > 0 && start == 0 && index < filters.size()) {
      start = System.nanoTime(); // resumed on the I/O thread after an asynchronous proceed()
    }
    if (index == filters.size()) {
      CompletionStage<ProxyResponse> stage;
      try {
        stage = last.apply(exchange);
      } catch (RuntimeException e) {
        stage = CompletableFuture.failedFuture(e);
      } finally {
        if (threshold > 0 && caller != null) {
          caller.nestedNanos = System.nanoTime() - start;
        }
      }
      return stage != null ? stage : CompletableFuture.failedFuture(new IllegalStateException("terminal returned null"));
    }
    Filter filter = filters.get(index);
    Step<X> next = new Step<>(exchange, filters, index + 1, last, filter);
    CompletionStage<ProxyResponse> stage;
    try {
      stage = filter.filter(exchange, next);
    } catch (RuntimeException | Error e) {
      log.warn("filter {} threw while handling {}", nameOf(filter), exchange.request(), e);
      return CompletableFuture.failedFuture(e);
    } finally {
      if (threshold > 0) {
        long end = System.nanoTime();
        if (caller != null) {
          caller.nestedNanos = end - start;
        }
        // only the filter's own time: what the rest of the chain did synchronously inside proceed() is not its
        long took = end - start - next.nestedNanos;
        if (took > threshold) {
          log.warn("filter {} ran {} ms on I/O thread {} (expected: < {} ms); move blocking work to exchange.blockingExecutor()",
              nameOf(filter), took / 1_000_000, Thread.currentThread().getName(), threshold / 1_000_000);
        }
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
    private volatile boolean proceeded;
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

    private static final VarHandle PROCEEDED;

    static {
      try {
        PROCEEDED = MethodHandles.lookup().findVarHandle(Step.class, "proceeded", boolean.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    @Override
    public CompletionStage<ProxyResponse> proceed() {
      if (!PROCEEDED.compareAndSet(this, false, true)) {
        IllegalStateException e = new IllegalStateException("filter " + nameOf(caller) + " called proceed() more than once");
        log.error(e.getMessage());
        exchange.misuse(e);
        return CompletableFuture.failedFuture(e);
      }
      if (exchange.inIoThread()) {
        return invoke(exchange, filters, index, last, this, exchange.slowFilterThresholdNanos() > 0 ? System.nanoTime() : 0);
      }
      CompletableFuture<ProxyResponse> hop = new CompletableFuture<>();
      try {
        exchange.executeOnIoThread(() -> invoke(exchange, filters, index, last, null, 0).whenComplete((r, e) -> {
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
