package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.events.ServerStateChange;
import dev.gatehouse.proxy.internal.cache.CacheAccess;
import dev.gatehouse.proxy.internal.cache.CacheEngine;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.FilterChain;
import dev.gatehouse.proxy.internal.pool.HealthProbe;
import dev.gatehouse.proxy.internal.tunnel.ConnectTunnels;
import dev.gatehouse.proxy.internal.tunnel.Interceptor;
import dev.gatehouse.proxy.spi.CacheStep;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.Exchange;
import dev.gatehouse.proxy.spi.IoThread;
import dev.gatehouse.proxy.spi.PoolSettings;
import dev.gatehouse.proxy.spi.ProbeRequest;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import dev.gatehouse.proxy.spi.StatusContributor;
import dev.gatehouse.proxy.spi.Terminal;
import dev.gatehouse.proxy.spi.TunnelInterception;
import dev.gatehouse.proxy.spi.Tunnels;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.xnio.XnioIoThread;
import org.xnio.XnioWorker;

/**
 * The {@link ProxyRuntime} of an {@link Engine}: what the direction modules see of it. It is the
 * server the modules hand to their users (its lifecycle is the engine's) and the one door to the
 * engine's services; every {@link Exchange} it is given is one of the engine's own exchanges.
 */
public final class EngineRuntime implements ProxyRuntime, Tunnels {
  private final Engine engine;
  private final ConnectTunnels connectTunnels;
  private final Interceptor interceptor;

  EngineRuntime(Engine engine) {
    this.engine = engine;
    this.connectTunnels = new ConnectTunnels(engine.openTunnels());
    this.interceptor = new Interceptor(engine, connectTunnels);
  }

  /** The engine (for the engine's own parts and tests). */
  public Engine engine() {
    return engine;
  }

  /**
   * Closes the tunnels and upgraded connections still open (each logged with {@code why}), then the
   * intercepted connections; at shutdown, once the grace period is over.
   */
  void closeTunnels(String why) {
    engine.openTunnels().closeAll(why);
    interceptor.closeAll();
  }

  /** Intercepted connections still open (decrypted and served, or being looked at). */
  int interceptedOpen() {
    return interceptor.openConnections();
  }

  private static ExchangeImpl impl(Exchange exchange) {
    return (ExchangeImpl) exchange; // every exchange a module is given is the engine's own
  }

  // ---------------------------------------------------------------- the server

  @Override
  public ProxyServer start() {
    engine.start();
    return this;
  }

  @Override
  public int port() {
    return engine.port();
  }

  @Override
  public InetSocketAddress address() {
    return engine.address();
  }

  @Override
  public boolean isRunning() {
    return engine.isRunning();
  }

  @Override
  public ProxyStatus status() {
    return engine.status();
  }

  @Override
  public Optional<InetSocketAddress> adminAddress() {
    return engine.adminAddress();
  }

  @Override
  public void close() {
    engine.close();
  }

  @Override
  public String toString() {
    return "ProxyServer(" + engine.config().kind() + ", " + (engine.isRunning() ? engine.address() : "not running") + ")";
  }

  // ---------------------------------------------------------------- settings

  @Override
  public Duration readTimeout() {
    return engine.config().readTimeout();
  }

  @Override
  public Duration shutdownGracePeriod() {
    return engine.config().shutdownGracePeriod();
  }

  @Override
  public PoolSettings defaultPool() {
    return engine.defaultPoolSettings();
  }

  @Override
  public InstantSource clock() {
    return engine.config().clock();
  }

  @Override
  public long nanoTime() {
    return engine.config().nanoTime();
  }

  // ---------------------------------------------------------------- lifecycle

  @Override
  public void onStart(Runnable hook) {
    engine.addStartHook(hook);
  }

  @Override
  public void onClose(Runnable hook) {
    engine.addCloseHook(hook);
  }

  @Override
  public IoThread ioThread() {
    XnioWorker w = engine.worker();
    return w == null ? null : new EngineIoThread(w.getIoThread());
  }

  @Override
  public Executor blockingExecutor() {
    return task -> {
      XnioWorker w = engine.worker();
      if (w == null) {
        throw new RejectedExecutionException("proxy not running");
      }
      w.execute(task);
    };
  }

  // ---------------------------------------------------------------- services

  @Override
  public CompletionStage<ProxyResponse> runFilters(Exchange exchange, List<Filter> filters, Terminal last) {
    return FilterChain.run(impl(exchange), filters, last::handle);
  }

  @Override
  public CacheStep cacheStep(HttpCache cache) {
    CacheEngine c = CacheAccess.engine(cache);
    return (exchange, upstream) -> c.handle(impl(exchange), upstream::handle);
  }

  @Override
  public Tunnels tunnels() {
    return this;
  }

  @Override
  public CompletionStage<ProxyResponse> open(Exchange exchange, InetSocketAddress destination, Duration idleTimeout) {
    return connectTunnels.open(impl(exchange), destination, idleTimeout);
  }

  @Override
  public CompletionStage<ProxyResponse> openThroughParent(Exchange exchange, Endpoint parent, String target,
      String proxyAuthorization, Duration idleTimeout) {
    return connectTunnels.openThroughParent(impl(exchange), parent, target, proxyAuthorization, idleTimeout);
  }

  @Override
  public CompletionStage<ProxyResponse> intercept(Exchange exchange, TunnelInterception interception,
      Duration idleTimeout) {
    return interceptor.open(impl(exchange), interception, idleTimeout);
  }

  @Override
  public void probe(IoThread thread, ProbeRequest r, BiConsumer<Integer, Throwable> done) {
    HealthProbe.check(((EngineIoThread) thread).thread, blockingExecutor(), r.endpoint(), r.pool().tls(),
        r.pool().http2(), r.method(), r.pathAndQuery(), r.host(), r.timeout(), done);
  }

  @Override
  public boolean retirePool(Endpoint endpoint, PoolSettings settings) {
    return engine.retirePool(endpoint, settings);
  }

  // ---------------------------------------------------------------- events and status

  @Override
  public void serverStateChanged(ServerStateChange change) {
    engine.telemetry().serverStateChanged(change);
  }

  @Override
  public void topologyChanged() {
    engine.telemetry().topologyChanged();
  }

  @Override
  public void addStatusContributor(StatusContributor contributor) {
    engine.telemetry().addStatusContributor(contributor);
  }

  /** An I/O thread of the engine's worker. */
  private static final class EngineIoThread implements IoThread {
    final XnioIoThread thread;

    EngineIoThread(XnioIoThread thread) {
      this.thread = thread;
    }

    @Override
    public void execute(Runnable task) {
      thread.execute(task);
    }

    @Override
    public Scheduled schedule(Runnable task, long delay, TimeUnit unit) {
      return thread.executeAfter(task, delay, unit)::remove;
    }
  }
}
