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
    return segment(exchange, filters, 0, last);
  }

  /**
   * Runs the chain from filter {@code index} on, as far as it goes synchronously on the I/O thread (the
   * rest, after a {@code proceed()} from another thread, is a segment of its own), with the slow-filter
   * check (see {@link SlowFilterCheck}).
   */
  static <X extends ChainContext> CompletionStage<ProxyResponse> segment(X exchange, List<Filter> filters, int index,
      Function<X, CompletionStage<ProxyResponse>> last) {
    SlowFilterCheck check = index < filters.size() ? exchange.slowFilterCheck() : null;
    if (check == null) {
      return invoke(exchange, filters, index, last, null, null, 0);
    }
    if (check.attributeThisRun()) {
      Timing timing = new Timing(check, true);
      CompletionStage<ProxyResponse> stage = invoke(exchange, filters, index, last, null, timing, System.nanoTime());
      timing.ended = true;
      return stage;
    }
    Timing timing = new Timing(check, false);
    long start = System.nanoTime();
    CompletionStage<ProxyResponse> stage = invoke(exchange, filters, index, last, null, timing, 0);
    timing.ended = true;
    long took = System.nanoTime() - start - timing.terminalNanos;
    if (took > check.thresholdNanos) {
      check.slowRunSeen();
      StringBuilder names = new StringBuilder();
      for (int i = index; i <= timing.reached; i++) {
        names.append(i > index ? ", " : "").append(nameOf(filters.get(i)));
      }
      log.warn("filters [{}] held I/O thread {} for {} ms (expected: < {} ms); each filter is timed on the next {} runs"
          + " to name the one that blocks", names, Thread.currentThread().getName(), took / 1_000_000,
          check.thresholdNanos / 1_000_000, SlowFilterCheck.ATTRIBUTED_RUNS);
    }
    return stage;
  }

  /** How the segment now running is timed: as a whole (the step after the filters apart) or filter by filter. */
  private static final class Timing {
    final SlowFilterCheck check;
    final boolean perFilter;
    /** As a whole: how long the step after the filters ran, which is not the filters' time. */
    long terminalNanos;
    /** The last filter this run reached (the run's filters are those up to it, for the log). */
    int reached;
    /** The run has returned: a {@code proceed()} called later, even on the I/O thread, starts a run of its own. */
    boolean ended;

    Timing(SlowFilterCheck check, boolean perFilter) {
      this.check = check;
      this.perFilter = perFilter;
    }
  }

  /**
   * Runs filter {@code index} (or {@code last}). Timed filter by filter, {@code start} is the time it starts
   * and the caller's {@link Step} learns how long the rest of the chain ran synchronously: two clock reads
   * per filter, the end of one step being the time its caller's own work resumes.
   */
  static <X extends ChainContext> CompletionStage<ProxyResponse> invoke(X exchange, List<Filter> filters, int index,
      Function<X, CompletionStage<ProxyResponse>> last, Step<X> caller, Timing timing, long start) {
    if (exchange.isFinished()) {
      return CompletableFuture.failedFuture(new IllegalStateException("exchange already finished"));
    }
    boolean perFilter = timing != null && timing.perFilter;
    if (index == filters.size()) {
      long terminalStart = timing != null && !perFilter ? System.nanoTime() : 0;
      CompletionStage<ProxyResponse> stage;
      try {
        stage = last.apply(exchange);
      } catch (RuntimeException e) {
        stage = CompletableFuture.failedFuture(e);
      } finally {
        if (perFilter && caller != null) {
          caller.nestedNanos = System.nanoTime() - start;
        } else if (timing != null && !perFilter) {
          timing.terminalNanos = System.nanoTime() - terminalStart;
        }
      }
      return stage != null ? stage : CompletableFuture.failedFuture(new IllegalStateException("terminal returned null"));
    }
    Filter filter = filters.get(index);
    if (timing != null) {
      timing.reached = index;
    }
    Step<X> next = new Step<>(exchange, filters, index + 1, last, filter, timing);
    CompletionStage<ProxyResponse> stage;
    try {
      stage = filter.filter(exchange, next);
    } catch (RuntimeException | Error e) {
      log.warn("filter {} threw while handling {}", nameOf(filter), exchange.request(), e);
      return CompletableFuture.failedFuture(e);
    } finally {
      if (perFilter) {
        long end = System.nanoTime();
        if (caller != null) {
          caller.nestedNanos = end - start;
        }
        // only the filter's own time: what the rest of the chain did synchronously inside proceed() is not its
        long took = end - start - next.nestedNanos;
        long threshold = timing.check.thresholdNanos;
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
    /** How the segment this step belongs to is timed; null for not at all. */
    private final Timing timing;
    private volatile boolean proceeded;
    /** Time spent synchronously in the rest of the chain during proceed(). */
    long nestedNanos;

    Step(X exchange, List<Filter> filters, int index, Function<X, CompletionStage<ProxyResponse>> last,
        Filter caller, Timing timing) {
      this.exchange = exchange;
      this.filters = filters;
      this.index = index;
      this.last = last;
      this.caller = caller;
      this.timing = timing;
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
        if (timing != null && timing.ended) {
          return segment(exchange, filters, index, last); // called later, from an I/O-thread callback
        }
        return invoke(exchange, filters, index, last, this, timing, timing != null && timing.perFilter ? System.nanoTime() : 0);
      }
      CompletableFuture<ProxyResponse> hop = new CompletableFuture<>();
      try {
        // resumed on the I/O thread later: a segment of its own, timed from there
        exchange.executeOnIoThread(() -> segment(exchange, filters, index, last).whenComplete((r, e) -> {
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
