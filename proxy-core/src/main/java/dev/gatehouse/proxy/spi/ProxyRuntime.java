package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.events.ServerStateChange;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * A built proxy as its direction module sees it ({@code ProxyBuilder.buildServer}): the server itself,
 * the settings a module needs, hooks into its lifecycle, and the engine's services (filter chains, the
 * cache step, tunnels, health probes, its threads).
 */
public interface ProxyRuntime extends ProxyServer {

  // ---------------------------------------------------------------- settings

  /** The builder's {@code readTimeout}. */
  Duration readTimeout();

  /** The builder's {@code shutdownGracePeriod}. */
  Duration shutdownGracePeriod();

  /** The pool settings of calls that bring none of their own (the builder's upstream limits). */
  PoolSettings defaultPool();

  /** The builder's clock. */
  InstantSource clock();

  /**
   * Now on the builder's clock, in nanoseconds, for comparing against deadlines: {@link
   * System#nanoTime()} with the system clock, the clock's instant otherwise.
   */
  long nanoTime();

  // ---------------------------------------------------------------- lifecycle

  /** Runs {@code hook} once the listener is bound and the I/O threads run. */
  void onStart(Runnable hook);

  /**
   * Runs {@code hook} when the proxy closes, after in-flight exchanges; hooks run in reverse order of
   * registration.
   */
  void onClose(Runnable hook);

  /** An I/O thread of the running proxy (one picked per call), or null while it is not running. */
  @Nullable IoThread ioThread();

  /** The worker threads, for blocking work; rejects tasks while the proxy is not running. */
  Executor blockingExecutor();

  // ---------------------------------------------------------------- services

  /** Runs {@code filters} around {@code last} for {@code exchange}, under the engine's chain rules. */
  CompletionStage<ProxyResponse> runFilters(Exchange exchange, List<Filter> filters, Terminal last);

  /** {@code cache} as a step a terminal places in front of its upstream. */
  CacheStep cacheStep(HttpCache cache);

  /** {@code CONNECT} tunnels. */
  Tunnels tunnels();

  /**
   * Runs one health check on {@code thread}: {@code done} gets the final status code, or the failure
   * (connect error, timeout, malformed response), on that thread, exactly once.
   */
  void probe(IoThread thread, ProbeRequest request, BiConsumer<Integer, Throwable> done);

  /**
   * Closes and forgets the pool to {@code endpoint} with {@code settings} (its routes were replaced):
   * exchanges using its connections finish, then the connections close. Returns whether there was one.
   */
  boolean retirePool(Endpoint endpoint, PoolSettings settings);

  // ---------------------------------------------------------------- events and status

  /** Tells the proxy's listeners of a server's health change. */
  void serverStateChanged(ServerStateChange change);

  /** The set of routes, groups or servers changed: listeners (metrics) refresh what they cover. */
  void topologyChanged();

  /** Adds a module's part to the proxy's status. */
  void addStatusContributor(StatusContributor contributor);
}
