package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.ErrorHandler;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ProxyStartException;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.SlowFilterCheck;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.internal.pool.HostPool;
import dev.gatehouse.proxy.internal.pool.PoolRegistry;
import dev.gatehouse.proxy.internal.tunnel.OpenTunnels;
import dev.gatehouse.proxy.internal.upstream.BufferBudget;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.PoolSettings;
import dev.gatehouse.proxy.spi.Terminal;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.DefaultByteBufferPool;
import io.undertow.server.HttpHandler;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.XnioWorker;

/**
 * The running proxy: the lifecycle of an Undertow listener (start, graceful close, certificate reload)
 * and what the rest of the engine shares: the configuration, the connection pools ({@link
 * PoolRegistry}), the read-ahead budget, telemetry, start and close hooks. Each request goes through
 * the listener's one handler, {@link Intake}; its response through {@link ResponseCommit}.
 */
public final class Engine implements ProxyServer {
  private static final Logger log = LoggerFactory.getLogger(Engine.class);

  private enum State { NEW, STARTED, CLOSED }

  private final CoreConfig config;
  private final Intake intake;
  private final ResponseCommit commit;
  private final PoolRegistry pools;
  private final EngineRuntime runtime;
  private final BufferBudget bufferBudget;
  private final SlowFilterCheck slowFilterCheck;
  private final OpenTunnels openTunnels = new OpenTunnels();
  private ClientLimits limits = ClientLimits.NONE;
  private final List<Runnable> startHooks = new CopyOnWriteArrayList<>();
  private final Telemetry telemetry = new Telemetry(this);
  private final List<Runnable> closeHooks = new CopyOnWriteArrayList<>();
  private State state = State.NEW;
  /** I/O buffer size: Undertow's default for heaps over 128 MiB, and the TLS record size. */
  public static final int BUFFER_SIZE = 16 * 1024;
  private Undertow undertow;
  private DefaultByteBufferPool bufferPool;
  private ClientGate gate;
  private ConnectionLimiter limiter;
  private OptionMap listenerOptions = OptionMap.EMPTY;
  private volatile XnioWorker worker;
  private volatile InetSocketAddress address;

  public Engine(CoreConfig config, Terminal terminal) {
    this.config = config;
    this.pools = new PoolRegistry(config.defaultPoolSettings(), this::resolve, config.ioThreads());
    this.commit = new ResponseCommit(config);
    this.intake = new Intake(this, terminal, commit);
    this.runtime = new EngineRuntime(this);
    this.bufferBudget = new BufferBudget(config.responseBufferMemoryLimit());
    this.slowFilterCheck = SlowFilterCheck.of(config.slowFilterThreshold());
  }

  /** The tunnels and upgraded connections open now. */
  public OpenTunnels openTunnels() {
    return openTunnels;
  }

  /** Sets the limits that protect the proxy from its clients; before {@link #start()}. */
  public void clientLimits(ClientLimits limits) {
    this.limits = Objects.requireNonNull(limits, "limits");
  }

  /** The direction modules' view of this engine. */
  public EngineRuntime runtime() {
    return runtime;
  }

  /** The check for filters that hold an I/O thread ({@code slowFilterThreshold}); null when it is off. */
  public SlowFilterCheck slowFilterCheck() {
    return slowFilterCheck;
  }

  /** The proxy-wide memory bound of response read-ahead and tunnels' bulk buffers. */
  public BufferBudget bufferBudget() {
    return bufferBudget;
  }

  /** The pool settings of calls that bring none of their own. */
  public PoolSettings defaultPoolSettings() {
    return pools.defaults();
  }

  /** Runs once the listener is bound and the I/O threads run (starts health checks). */
  public void addStartHook(Runnable hook) {
    startHooks.add(hook);
  }

  /** The XNIO worker while running (its I/O threads run timers and probes), else null. */
  public XnioWorker worker() {
    return worker;
  }

  public CoreConfig config() {
    return config;
  }

  /** Events, readiness and status of this proxy (access logs, metrics, tracing, admin). */
  public Telemetry telemetry() {
    return telemetry;
  }

  @Override
  public dev.gatehouse.proxy.ProxyStatus status() {
    return telemetry.status();
  }

  @Override
  public java.util.Optional<InetSocketAddress> adminAddress() {
    return java.util.Optional.ofNullable(telemetry.adminAddress());
  }

  /**
   * Closes and forgets the pool for {@code endpoint} with {@code settings} (the routes that used it were
   * replaced). Exchanges still using its connections finish; the connections then close instead of
   * going back. A later request for the same upstream gets a new pool. Returns whether there was one.
   */
  public boolean retirePool(Endpoint endpoint, PoolSettings settings) {
    return pools.retire(endpoint, settings);
  }

  /** The upstream connection pools, for {@link #status()}. */
  public List<dev.gatehouse.proxy.ProxyStatus.Pool> poolStatus() {
    return pools.status();
  }

  /**
   * Runs when the proxy closes, after in-flight exchanges (flushes logs, stops health checks). Hooks run
   * in reverse order of registration, so what was set up first (e.g. the access log) is closed last
   * and still sees what later hooks do (e.g. tunnels closed at shutdown).
   */
  public void addCloseHook(Runnable hook) {
    closeHooks.add(0, hook);
  }

  /**
   * Tells the completion listeners about an exchange whose completion was deferred with {@link
   * ExchangeImpl#deferCompletion()} (a tunnel, logged when it ends). Call once, on any thread.
   */
  public void completeDeferred(ExchangeImpl ex) {
    telemetry.exchangeEnded(ex);
  }

  /** The worker threads, for blocking work; fails while the proxy is not running. */
  public Executor blockingExecutor() {
    XnioWorker w = worker;
    if (w == null) {
      throw new IllegalStateException("proxy not running");
    }
    return w;
  }

  /** The pool to {@code endpoint} with the default settings. */
  public HostPool pool(Endpoint endpoint) {
    return pools.pool(endpoint, pools.defaults());
  }

  /** The pool to {@code endpoint} with {@code settings}, made on first use. */
  public HostPool pool(Endpoint endpoint, PoolSettings settings) {
    return pools.pool(endpoint, settings);
  }

  private void resolve(Runnable task) {
    blockingExecutor().execute(task);
  }

  // ---------------------------------------------------------------- lifecycle

  @Override
  public synchronized ProxyServer start() {
    if (state == State.STARTED) {
      throw new IllegalStateException("proxy already started");
    }
    if (state == State.CLOSED) {
      throw new IllegalStateException("proxy closed (expected: a new build() to start again)");
    }
    gate = new ClientGate(intake, limits.maxExchanges());
    // Undertow's own pool keeps 4 buffers per thread and frees every other one at once (its maximum pool
    // size is -1): with read-ahead and tunnels holding several buffers per exchange that meant allocating
    // and freeing direct memory for nearly every buffer. This pool keeps what the read-ahead budget allows.
    bufferPool = new DefaultByteBufferPool(true, BUFFER_SIZE,
        (int) Math.max(256, Math.min(65_536, config.responseBufferMemoryLimit() / BUFFER_SIZE)), 16);
    Undertow.Builder b = Undertow.builder().setByteBufferPool(bufferPool);
    if (config.tls() != null) {
      b.addHttpsListener(config.port(), config.host(), telemetry.observeTls(config.tls().sslContext()));
    } else {
      b.addHttpListener(config.port(), config.host());
    }
    listenerOptions = OptionMap.builder()
        .set(UndertowOptions.MAX_HEADER_SIZE, RequestValidator.parserLimit(config))
        .set(UndertowOptions.MAX_HEADERS, Math.max(config.maxHeaderCount() * 2, config.maxHeaderCount() + 100))
        .set(UndertowOptions.REQUEST_PARSE_TIMEOUT, millis(config.requestHeaderTimeout()))
        .set(UndertowOptions.NO_REQUEST_TIMEOUT, millis(config.idleTimeout()))
        .set(UndertowOptions.DECODE_URL, false)
        // bodies stream; the proxy enforces maxRequestBodySize itself (Undertow's default cuts at 2 MiB)
        .set(UndertowOptions.MAX_ENTITY_SIZE, -1L)
        // Undertow holds responses to pipelined requests back in a buffer that a CONNECT never flushes: a
        // client sending its first tunnel bytes with the CONNECT head would never see the 200.
        .set(UndertowOptions.BUFFER_PIPELINED_DATA, false)
        .set(UndertowOptions.ALWAYS_SET_KEEP_ALIVE, false)
        .set(UndertowOptions.ENABLE_HTTP2, config.http2())
        .set(UndertowOptions.SHUTDOWN_TIMEOUT, 5000)
        .getMap();
    for (org.xnio.Option<?> o : listenerOptions) {
      serverOption(b, o);
    }
    b
        .setIoThreads(config.ioThreads())
        .setWorkerThreads(config.workerThreads())
        .setSocketOption(Options.TCP_NODELAY, true)
        .setHandler(gate);
    undertow = b.build();
    try {
      undertow.start();
    } catch (RuntimeException e) {
      try {
        undertow.stop();
      } catch (RuntimeException ignored) {
        // already failed
      }
      bufferPool.close();
      state = State.CLOSED;
      throw new ProxyStartException("failed to bind " + config.host() + ":" + config.port(),
          e.getCause() != null ? e.getCause() : e);
    }
    worker = undertow.getWorker();
    address = (InetSocketAddress) undertow.getListenerInfo().get(0).getAddress();
    if (limits.limitsConnections()) {
      try {
        limiter = ConnectionLimiter.install(undertow, limits, telemetry);
        gate.onFirstRequest(limiter::firstRequest);
      } catch (ProxyStartException e) {
        undertow.stop();
        bufferPool.close();
        state = State.CLOSED;
        throw e;
      }
    }
    state = State.STARTED;
    telemetry.started(address);
    pools.scheduleSweep(() -> worker, Math.max(1000, config.upstreamKeepAliveTimeout().toMillis()));
    log.info("{} proxy listening on {}://{}:{}{}", config.kind(), config.tls() != null ? "https" : "http",
        address.getHostString(), address.getPort(), config.http2() ? (config.tls() != null ? " (h2, http/1.1)" : " (h2c, http/1.1)") : "");
    if (config.tls() != null && !config.tlsReloadInterval().isZero()) {
      scheduleTlsCheck();
    }
    for (Runnable hook : startHooks) {
      try {
        hook.run();
      } catch (ProxyStartException e) {
        close(); // a part that could not start (the admin listener's port is taken): nothing half-started
        throw e;
      } catch (RuntimeException e) {
        log.warn("start hook failed", e);
      }
    }
    return this;
  }

  private volatile org.xnio.XnioExecutor.Key tlsTimer;

  private <T> void serverOption(Undertow.Builder b, org.xnio.Option<T> option) {
    b.setServerOption(option, listenerOptions.get(option));
  }

  /**
   * The handler every request of the listener goes through (the drain and exchange counting of {@link
   * ClientGate}, then the proxy), for
   * connections served outside the listener: an intercepted tunnel's decrypted connection. Set by
   * {@link #start()}.
   */
  public HttpHandler rootHandler() {
    return gate;
  }

  /** The listener's I/O buffers; set by {@link #start()}. */
  public io.undertow.connector.ByteBufferPool bufferPool() {
    return bufferPool;
  }

  /** The listener's Undertow options (limits, timeouts), for connections served outside it. */
  public OptionMap listenerOptions() {
    return listenerOptions;
  }

  /** Checks the certificate files for changes on the worker (file I/O), then schedules the next check. */
  private void scheduleTlsCheck() {
    XnioWorker w = worker;
    if (w == null) {
      return;
    }
    try {
      tlsTimer = w.getIoThread().executeAfter(() -> {
      XnioWorker now = worker;
      if (now == null) {
        return;
      }
      try {
        now.execute(() -> {
          config.tls().reloadIfChanged();
          scheduleTlsCheck();
        });
      } catch (RuntimeException e) {
        // the worker is shutting down
      }
      }, config.tlsReloadInterval().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      // the worker is shutting down
    }
  }

  private static int millis(java.time.Duration d) {
    return (int) Math.min(Integer.MAX_VALUE, d.toMillis());
  }

  @Override
  public synchronized int port() {
    return addressOrThrow().getPort();
  }

  @Override
  public synchronized InetSocketAddress address() {
    return addressOrThrow();
  }

  private InetSocketAddress addressOrThrow() {
    if (state != State.STARTED) {
      throw new IllegalStateException("proxy not started (expected: start() first)");
    }
    return address;
  }

  @Override
  public synchronized boolean isRunning() {
    return state == State.STARTED;
  }

  @Override
  public synchronized void close() {
    if (state != State.STARTED) {
      state = State.CLOSED;
      telemetry.closed();
      return;
    }
    // An interrupted caller gets no grace period but still a whole close (tunnels closed and logged, the
    // access log written out, Undertow stopped: its stop fails on an interrupt); the interrupt is restored.
    boolean interrupted = Thread.interrupted();
    stopAccepting();
    gate.drain();
    // only now is the proxy seen as draining (status, readiness): a request sent after a client saw
    // that is served as the last on its connection, and a client told to close cannot reconnect
    telemetry.closing();
    long deadline = System.nanoTime() + config.shutdownGracePeriod().toNanos();
    if (!interrupted) {
      try {
        gate.awaitDrained(deadline, () -> openTunnels.size() == 0 && runtime.interceptedOpen() == 0);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (gate.active() > 0) {
      log.warn("{} proxy: {} exchange(s) still running after shutdownGracePeriod {}; closing them",
          config.kind(), gate.active(), config.shutdownGracePeriod());
    }
    org.xnio.XnioExecutor.Key t = tlsTimer;
    if (t != null) {
      t.remove();
    }
    // before the pools and the hooks: their log lines still reach the access log
    runtime.closeTunnels("at the end of the shutdown grace period " + config.shutdownGracePeriod());
    pools.closeAll();
    for (Runnable hook : closeHooks) {
      try {
        hook.run();
      } catch (RuntimeException e) {
        log.warn("close hook failed", e);
      }
    }
    interrupted |= Thread.interrupted();
    undertow.stop();
    bufferPool.close();
    worker = null;
    state = State.CLOSED;
    telemetry.closed();
    log.info("{} proxy on {}:{} closed", config.kind(), address.getHostString(), address.getPort());
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Closes the listening sockets so new connections are refused while in-flight exchanges finish.
   * Undertow's {@code ListenerInfo.suspend()} would also close every open connection, so the accepting
   * channel is closed directly; if that is not possible, new connections are still served (each request
   * as the last on its connection) until {@code close()} finishes.
   */
  private void stopAccepting() {
    for (Undertow.ListenerInfo li : undertow.getListenerInfo()) {
      try {
        java.lang.reflect.Field f = Undertow.ListenerInfo.class.getDeclaredField("channel");
        f.setAccessible(true);
        IoUtils.safeClose((java.io.Closeable) f.get(li));
      } catch (ReflectiveOperationException | RuntimeException e) {
        log.debug("cannot close the listener early; new requests get 503 until close() finishes", e);
      }
    }
  }

  /** Called when an upstream body failed before anything reached the client: the error handler answers. */
  public void respondWithError(ExchangeImpl ex, Throwable error, ErrorHandler.Phase phase) {
    commit.respondWithError(ex, error, phase);
  }
}
