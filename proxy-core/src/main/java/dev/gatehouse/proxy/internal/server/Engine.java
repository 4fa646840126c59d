package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ProxyStartException;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.FilterChain;
import dev.gatehouse.proxy.internal.exchange.RequestImpl;
import dev.gatehouse.proxy.internal.exchange.ResponseImpl;
import dev.gatehouse.proxy.internal.http1.Http;
import dev.gatehouse.proxy.internal.http1.HttpDuties;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.internal.pool.Endpoint;
import dev.gatehouse.proxy.internal.pool.HostPool;
import dev.gatehouse.proxy.internal.pool.PoolSettings;
import dev.gatehouse.proxy.internal.upstream.BufferBudget;
import dev.gatehouse.proxy.internal.upstream.SourceStreamer;
import dev.gatehouse.proxy.internal.upstream.UpstreamCall;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.DefaultByteBufferPool;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.GracefulShutdownHandler;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import io.undertow.util.Protocols;
import io.undertow.util.SameThreadExecutor;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.XnioWorker;
import org.xnio.channels.StreamSinkChannel;

/**
 * The running proxy: an Undertow listener whose single handler applies the HTTP duties, runs the
 * filter chain and the terminal, and writes the response.
 */
public final class Engine implements ProxyServer {
  private static final Logger log = LoggerFactory.getLogger(Engine.class);
  private static final Chain TERMINAL_CHAIN = () -> CompletableFuture.failedFuture(
      new IllegalStateException("proceed() called from the terminal step: there is nothing after it"));

  private enum State { NEW, STARTED, CLOSED }

  private final CoreConfig config;
  private final Filter terminal;
  private final RequestValidator validator;
  private final ConcurrentHashMap<PoolKey, HostPool> pools = new ConcurrentHashMap<>();
  private final PoolSettings defaultPoolSettings;
  private final BufferBudget bufferBudget;
  private final List<Runnable> startHooks = new CopyOnWriteArrayList<>();
  private final Telemetry telemetry = new Telemetry(this);
  private final List<Runnable> closeHooks = new CopyOnWriteArrayList<>();
  private State state = State.NEW;
  /** I/O buffer size: Undertow's default for heaps over 128 MiB, and the TLS record size. */
  public static final int BUFFER_SIZE = 16 * 1024;
  private Undertow undertow;
  private DefaultByteBufferPool bufferPool;
  private GracefulShutdownHandler graceful;
  private OptionMap listenerOptions = OptionMap.EMPTY;
  private volatile XnioWorker worker;
  private volatile InetSocketAddress address;

  public Engine(CoreConfig config, Filter terminal) {
    this.config = config;
    this.terminal = terminal;
    this.validator = new RequestValidator(config);
    this.defaultPoolSettings = PoolSettings.of(config);
    this.bufferBudget = new BufferBudget(config.responseBufferMemoryLimit());
  }

  /** The proxy-wide memory bound of response read-ahead. */
  public BufferBudget bufferBudget() {
    return bufferBudget;
  }

  private record PoolKey(String endpoint, PoolSettings settings) {}

  /** The pool settings of calls that bring none of their own. */
  public PoolSettings defaultPoolSettings() {
    return defaultPoolSettings;
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
    HostPool p = pools.remove(new PoolKey(endpoint.key(), settings));
    if (p != null) {
      p.close();
    }
    return p != null;
  }

  /** The upstream connection pools, for {@link #status()}. */
  public List<dev.gatehouse.proxy.ProxyStatus.Pool> poolStatus() {
    List<dev.gatehouse.proxy.ProxyStatus.Pool> out = new java.util.ArrayList<>();
    for (HostPool p : pools.values()) {
      out.add(p.status());
    }
    return out;
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
    notifyCompletion(ex);
  }

  private void notifyCompletion(ExchangeImpl ex) {
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
    return pool(endpoint, defaultPoolSettings);
  }

  /** The pool to {@code endpoint} with {@code settings}, made on first use. */
  public HostPool pool(Endpoint endpoint, PoolSettings settings) {
    PoolKey key = new PoolKey(endpoint.key(), settings);
    HostPool p = pools.get(key);
    if (p == null) {
      p = pools.computeIfAbsent(key, k -> new HostPool(endpoint, settings, this::resolve, config.ioThreads()));
    }
    return p;
  }

  /**
   * Drops pools of upstreams not used for a while (a forward proxy meets many destinations); a pool
   * with open connections or queued requests is kept.
   */
  private void schedulePoolSweep() {
    XnioWorker w = worker;
    if (w == null) {
      return;
    }
    long everyMs = Math.max(1000, config.upstreamKeepAliveTimeout().toMillis());
    try {
      w.getIoThread().executeAfter(() -> {
        long now = System.nanoTime();
        pools.values().removeIf(p -> p.isUnused(now, everyMs * 2_000_000));
        schedulePoolSweep();
      }, everyMs, java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      // the worker is shutting down
    }
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
    graceful = new GracefulShutdownHandler(this::handle);
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
        .setHandler(graceful);
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
    state = State.STARTED;
    telemetry.started(address);
    schedulePoolSweep();
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
   * The handler every request of the listener goes through (graceful shutdown, then the proxy), for
   * connections served outside the listener: an intercepted tunnel's decrypted connection. Set by
   * {@link #start()}.
   */
  public HttpHandler rootHandler() {
    return graceful;
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
    telemetry.closing();
    stopAccepting();
    graceful.shutdown();
    try {
      if (!graceful.awaitShutdown(config.shutdownGracePeriod().toMillis())) {
        log.warn("{} proxy: exchanges still running after shutdownGracePeriod {}; closing them",
            config.kind(), config.shutdownGracePeriod());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    org.xnio.XnioExecutor.Key t = tlsTimer;
    if (t != null) {
      t.remove();
    }
    for (HostPool p : pools.values()) {
      p.close();
    }
    for (Runnable hook : closeHooks) {
      try {
        hook.run();
      } catch (RuntimeException e) {
        log.warn("close hook failed", e);
      }
    }
    undertow.stop();
    bufferPool.close();
    worker = null;
    state = State.CLOSED;
    telemetry.closed();
    log.info("{} proxy on {}:{} closed", config.kind(), address.getHostString(), address.getPort());
  }

  /**
   * Closes the listening sockets so new connections are refused while in-flight exchanges finish.
   * Undertow's {@code ListenerInfo.suspend()} would also close every open connection, so the accepting
   * channel is closed directly; if that is not possible, new requests get 503 from the graceful handler.
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

  // ---------------------------------------------------------------- requests

  private void handle(HttpServerExchange hse) {
    long start = System.nanoTime();
    RequestValidator.Rejection rejection = validator.check(hse);
    HeaderMap headers = hse.getRequestHeaders();
    if (rejection == null && headers.contains(Headers.TRANSFER_ENCODING) && !hse.isRequestComplete()) {
      StrictChunkedConduit.install(hse);
    }
    String uri = hse.getRequestURI();
    String scheme = hse.getRequestScheme();
    String authority = null;
    String path;
    if (Methods.CONNECT.equals(hse.getRequestMethod())) {
      authority = uri;
      path = "";
    } else if (hse.isHostIncludedInRequestURI()) {
      int s = uri.indexOf("://");
      int p = uri.indexOf('/', s + 3);
      scheme = uri.substring(0, s);
      authority = uri.substring(s + 3, p < 0 ? uri.length() : p);
      path = p < 0 ? "/" : uri.substring(p);
    } else {
      path = uri;
    }
    String query = hse.getQueryString();
    long contentLength;
    String cl = headers.getFirst(Headers.CONTENT_LENGTH);
    boolean bodyToVerify = false;
    if (cl != null) {
      contentLength = Http.parseContentLength(cl);
      if (rejection == null && contentLength >= 0 && !hse.isRequestComplete()
          && hse.getProtocol().equals(Protocols.HTTP_2_0)) {
        // an HTTP/2 body ends with its stream: hold it to the declared length (H2.CL smuggling)
        DeclaredLengthConduit.install(hse, contentLength);
        bodyToVerify = contentLength == 0;
      }
    } else {
      contentLength = hse.isRequestComplete() ? 0 : -1;
    }
    RequestImpl request = new RequestImpl(hse, scheme, authority, path, query == null ? "" : query, contentLength,
        bodyToVerify);
    ExchangeImpl ex = new ExchangeImpl(this, hse, request, start);
    hse.addExchangeCompleteListener((x, next) -> {
      ex.finish();
      if (ex.responseStatus() == 0) {
        ex.responseStatus(x.getStatusCode());
      }
      if (!ex.completionDeferred()) {
        notifyCompletion(ex);
      }
      next.proceed();
    });
    if (rejection != null) {
      ex.responseStatus(rejection.status());
      reject(hse, rejection.status(), rejection.reason()); // the access log still sees it
      return;
    }

    ex.captureHopByHop(headers.getFirst(Headers.PROXY_AUTHORIZATION), upgradeRequested(headers));
    // Upgrade stays visible to filters (a WebSocket handshake is recognisable); it is never forwarded as
    // it is: the upstream call adds its own Upgrade and Connection fields when it passes the upgrade on.
    HttpDuties.stripHopByHop(headers, Headers.UPGRADE);
    if (maxForwardsReached(ex)) {
      return;
    }
    String host = authority != null ? authority : headers.getFirst(Headers.HOST);
    ex.realClientIp(HttpDuties.applyForwarded(headers, config.forwardedHeaders(), config.trustedProxies(),
        hse.getSourceAddress().getAddress(), hse.getRequestScheme(), host));
    HttpDuties.addVia(headers, hse.getProtocol().toString(), config.via());
    hse.dispatch(SameThreadExecutor.INSTANCE, () -> runChain(ex));
  }

  /** The {@code Upgrade} value if the client really asks to upgrade: Connection must list it (RFC 9110 §7.8). */
  private static String upgradeRequested(HeaderMap headers) {
    String upgrade = headers.getFirst(Headers.UPGRADE);
    HeaderValues connection = headers.get(Headers.CONNECTION);
    if (upgrade == null || connection == null) {
      return null;
    }
    for (String v : connection) {
      if (Http.listContains(v, "upgrade")) {
        return upgrade;
      }
    }
    return null;
  }

  private void runChain(ExchangeImpl ex) {
    Telemetry.chainStarted(ex);
    CompletionStage<ProxyResponse> stage = FilterChain.run(ex, config.filters(), this::terminal);
    stage.whenComplete((response, error) -> {
      if (ex.inIoThread()) {
        respond(ex, response, error);
      } else {
        ex.ioThread().execute(() -> respond(ex, response, error));
      }
    });
  }

  private CompletionStage<ProxyResponse> terminal(ExchangeImpl ex) {
    CompletionStage<ProxyResponse> s = terminal.filter(ex, TERMINAL_CHAIN);
    return s != null ? s : CompletableFuture.failedFuture(new IllegalStateException("terminal returned null"));
  }

  /**
   * Max-Forwards on OPTIONS and TRACE (RFC 9110 §7.6.2): at 0 the proxy answers itself, otherwise the
   * value goes down by one.
   */
  private boolean maxForwardsReached(ExchangeImpl ex) {
    HttpServerExchange hse = ex.hse();
    boolean trace = Methods.TRACE.equals(hse.getRequestMethod());
    if (!trace && !Methods.OPTIONS.equals(hse.getRequestMethod())) {
      return false;
    }
    String mf = hse.getRequestHeaders().getFirst(HttpDuties.MAX_FORWARDS);
    if (mf == null) {
      return false;
    }
    long n = Http.parseContentLength(mf.trim());
    if (n < 0) {
      return false; // not a number: forwarded as it is
    }
    if (n > 0) {
      hse.getRequestHeaders().put(HttpDuties.MAX_FORWARDS, Long.toString(n - 1));
      return false;
    }
    hse.setStatusCode(200);
    if (trace) {
      // Echo the request head as received, minus credentials (RFC 9110 §9.3.8).
      StringBuilder sb = new StringBuilder();
      sb.append(hse.getRequestMethod()).append(' ').append(hse.getRequestURI());
      if (!hse.getQueryString().isEmpty()) {
        sb.append('?').append(hse.getQueryString());
      }
      sb.append(' ').append(hse.getProtocol()).append("\r\n");
      for (HeaderValues hv : hse.getRequestHeaders()) {
        String name = hv.getHeaderName().toString();
        if (name.equalsIgnoreCase("authorization") || name.equalsIgnoreCase("cookie")
            || name.equalsIgnoreCase("proxy-authorization")) {
          continue;
        }
        for (String v : hv) {
          sb.append(name).append(": ").append(v).append("\r\n");
        }
      }
      sb.append("\r\n");
      byte[] body = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
      hse.getResponseHeaders().put(Headers.CONTENT_TYPE, "message/http");
      hse.getResponseHeaders().put(Headers.CONTENT_LENGTH, body.length);
      ex.responseStatus(200);
      hse.getResponseSender().send(ByteBuffer.wrap(body));
    } else {
      hse.getResponseHeaders().put(Headers.ALLOW, "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH");
      hse.getResponseHeaders().put(Headers.CONTENT_LENGTH, 0);
      ex.responseStatus(200);
      hse.endExchange();
    }
    return true;
  }

  /** Answers a request the proxy will not forward, and closes the connection after it. */
  private static void reject(HttpServerExchange hse, int status, String reason) {
    log.debug("rejected {} {} from {}: {} {}", hse.getRequestMethod(), hse.getRequestURI(), hse.getSourceAddress(),
        status, reason);
    hse.setPersistent(false);
    hse.setStatusCode(status);
    byte[] body = (reason + "\n").getBytes(StandardCharsets.UTF_8);
    hse.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
    hse.getResponseHeaders().put(Headers.CONTENT_LENGTH, body.length);
    hse.getResponseSender().send(ByteBuffer.wrap(body));
  }

  // ---------------------------------------------------------------- responses

  /** Sends the chain's outcome to the client; on the I/O thread. */
  private void respond(ExchangeImpl ex, ProxyResponse response, Throwable error) {
    HttpServerExchange hse = ex.hse();
    if (ex.isFinished() || ex.responded()) {
      abortUnused(ex, response);
      return;
    }
    Throwable misuse = ex.misuse();
    if (misuse != null) {
      abortUnused(ex, response);
      response = null;
      error = misuse;
    }
    if (error != null) {
      error = unwrap(error);
      if (error instanceof CancellationException && ex.isFinished()) {
        return;
      }
      response = errorResponse(ex, error, false);
    } else if (response == null) {
      IllegalStateException e = new IllegalStateException("the filter chain completed with a null response");
      log.error("{}: {}", ex, e.getMessage());
      response = errorResponse(ex, e, false);
    }
    ResponseImpl r = asImpl(response);
    ex.markResponded();
    ex.abortCallsExcept(r.call());
    commit(ex, r);
  }

  private static void abortUnused(ExchangeImpl ex, ProxyResponse response) {
    if (response instanceof ResponseImpl && ((ResponseImpl) response).call() != null) {
      ((ResponseImpl) response).call().abort();
    }
  }

  private static ResponseImpl asImpl(ProxyResponse response) {
    if (response instanceof ResponseImpl) {
      return (ResponseImpl) response;
    }
    // A user's own ProxyResponse implementation: take its status and headers.
    ResponseImpl r = new ResponseImpl(response.status(), null, null);
    for (String name : response.headers().names()) {
      for (String v : response.headers().getAll(name)) {
        r.headers().add(name, v);
      }
    }
    return r;
  }

  /** Called when an upstream body failed before anything reached the client. */
  public void respondWithError(ExchangeImpl ex, Throwable error, boolean duringResponse) {
    HttpServerExchange hse = ex.hse();
    if (hse.isResponseStarted()) {
      abortClient(hse, null);
      return;
    }
    hse.getResponseHeaders().clear();
    commit(ex, asImpl(errorResponse(ex, unwrap(error), duringResponse)));
  }

  private ProxyResponse errorResponse(ExchangeImpl ex, Throwable error, boolean duringResponse) {
    int status = DefaultErrorHandler.statusFor(error, duringResponse);
    Telemetry.failed(ex, error);
    if (status == 500) {
      log.error("{} failed", ex, error);
    } else {
      log.warn("{} -> {}: {}", ex, status, error.getMessage());
    }
    return ResponseRules.errorResponse(config.errorHandler(), ex, error, duringResponse);
  }

  static Throwable unwrap(Throwable t) {
    return ResponseRules.unwrap(t);
  }

  private void commit(ExchangeImpl ex, ResponseImpl r) {
    HttpServerExchange hse = ex.hse();
    HeaderMap in = r.headerMap();
    String switchTo = r.call() != null && r.call().upgraded() ? in.getFirst(Headers.UPGRADE) : null;
    if (r.call() == null) {
      // A response the proxy makes itself may challenge for proxy credentials (407): that hop is ours.
      HttpDuties.stripHopByHop(in, Headers.PROXY_AUTHENTICATE);
    } else {
      HttpDuties.stripHopByHop(in);
    }
    HeaderMap out = hse.getResponseHeaders();
    if (in != out) {
      out.clear(); // an upstream response that was not chosen may have been parsed into it
      for (HeaderValues hv : in) {
        if (r.call() == null && Headers.CONTENT_LENGTH.equals(hv.getHeaderName())) {
          continue; // a local body's length is the proxy's to set
        }
        out.putAll(hv.getHeaderName(), hv);
      }
    }
    hse.setStatusCode(r.status());
    ex.responseStatus(r.status());
    Telemetry.committed(ex, r.call() != null);
    if (r.source() != null) {
      // served by the proxy itself (a cache hit): still a forwarded message, so Via applies
      HttpDuties.addVia(out, r.protocol(), config.via());
      SourceStreamer.start(ex, r);
      return;
    }
    if (r.call() != null) {
      HttpDuties.addVia(out, r.protocol(), config.via());
      if (r.call().upgraded()) {
        // 101: once the head is out, the client's connection and the upstream's are joined by a tunnel
        UpstreamCall call = r.call();
        out.remove(Headers.CONTENT_LENGTH);
        out.remove(Headers.TRANSFER_ENCODING);
        call.upgradeCommitted();
        hse.upgradeChannel(switchTo != null ? switchTo : ex.upgrade(), (connection, x) -> call.startTunnel(connection));
        hse.endExchange();
        return;
      }
      r.call().streamResponse(r.transformers());
      return;
    }
    byte[] body = r.body();
    List<BodyTransformer> transformers = r.transformers();
    if (transformers != null && !transformers.isEmpty()) {
      try {
        body = transformLocal(body, transformers);
      } catch (RuntimeException e) {
        hse.getResponseHeaders().clear();
        ResponseImpl err = asImpl(errorResponse(ex, e, true));
        if (err.transformers() != null) {
          err = asImpl(DefaultErrorHandler.INSTANCE.handle(ex, e, true));
        }
        commit(ex, err);
        return;
      }
    }
    int length = body == null ? 0 : body.length;
    out.put(Headers.CONTENT_LENGTH, length);
    ex.responseBodyBytes(Methods.HEAD.equals(hse.getRequestMethod()) ? 0 : length);
    if (length == 0) {
      hse.endExchange();
    } else {
      hse.getResponseSender().send(ByteBuffer.wrap(body));
    }
  }

  private static byte[] transformLocal(byte[] body, List<BodyTransformer> transformers) {
    return ResponseRules.transform(body, transformers);
  }

  /** Ends a client response abnormally: the connection for HTTP/1.x, only the stream for HTTP/2. */
  public static void abortClient(HttpServerExchange hse, StreamSinkChannel out) {
    hse.setPersistent(false);
    if (Protocols.HTTP_2_0.equals(hse.getProtocol())) {
      StreamSinkChannel ch = out != null ? out : hse.getResponseChannel();
      if (ch != null) {
        IoUtils.safeClose(ch);
        return;
      }
    }
    IoUtils.safeClose(hse.getConnection());
  }
}
