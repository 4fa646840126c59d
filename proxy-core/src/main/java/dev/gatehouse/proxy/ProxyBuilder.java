package dev.gatehouse.proxy;

import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.events.ProxyListener;
import dev.gatehouse.proxy.internal.http1.Http;
import dev.gatehouse.proxy.internal.observe.AdminServer;
import dev.gatehouse.proxy.internal.observe.Features;
import dev.gatehouse.proxy.internal.server.ClientLimits;
import dev.gatehouse.proxy.internal.server.CoreConfig;
import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.metrics.MetricsOptions;
import dev.gatehouse.proxy.spi.CidrSet;
import dev.gatehouse.proxy.spi.Exchange;
import dev.gatehouse.proxy.spi.ExchangeFilter;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import dev.gatehouse.proxy.spi.Terminal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * Settings shared by the forward and the reverse proxy. Every setter checks its value at once and
 * {@code build()} checks combinations; messages name the setting, the value and what was expected, e.g.
 * {@code port: -1 (expected: 0-65535)}. A builder is not thread-safe; the built proxy is immutable.
 *
 * <p>Timeouts are {@link Duration}s; {@link Duration#ZERO} disables one where the setter says so.
 *
 * @param <B> the concrete builder type, returned by every setter
 *
 * <p>(This class is long because it holds one setter per shared setting, each with its documented default and
 * its validation.)
 */
public abstract class ProxyBuilder<B extends ProxyBuilder<B>> {

  /** Default listen address: loopback only, so that nothing is exposed by accident. */
  public static final String DEFAULT_HOST = "127.0.0.1";
  /** Default time to establish an upstream connection. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /** Default longest wait for the next byte from the upstream. */
  public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(60);
  /** Default time a client has to send a complete request head. */
  public static final Duration DEFAULT_REQUEST_HEADER_TIMEOUT = Duration.ofSeconds(30);
  /** Default time a client connection may stay without traffic. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
  /** Default time {@code close()} waits for in-flight exchanges. */
  public static final Duration DEFAULT_SHUTDOWN_GRACE_PERIOD = Duration.ofSeconds(10);
  /** Default time a filter may hold the I/O thread before it is logged. */
  public static final Duration DEFAULT_SLOW_FILTER_THRESHOLD = Duration.ofMillis(10);
  /** Default longest request line (method, target, version), in bytes. */
  public static final int DEFAULT_MAX_REQUEST_LINE_LENGTH = 8192;
  /** Default largest total size of the request's header fields, in bytes. */
  public static final int DEFAULT_MAX_HEADER_BYTES = 32 * 1024;
  /** Default most header field lines in a request. */
  public static final int DEFAULT_MAX_HEADER_COUNT = 100;
  /** Default most connections to one upstream address. */
  public static final int DEFAULT_UPSTREAM_MAX_CONNECTIONS = 1024;
  /** Default most idle keep-alive connections kept to one upstream address. */
  public static final int DEFAULT_UPSTREAM_MAX_IDLE_CONNECTIONS = 64;
  /** Default time an idle upstream connection is kept. */
  public static final Duration DEFAULT_UPSTREAM_KEEP_ALIVE_TIMEOUT = Duration.ofSeconds(30);
  /** Default most requests waiting for an upstream connection when the connection limit is reached. */
  public static final int DEFAULT_UPSTREAM_MAX_PENDING = 1024;
  /** Default bytes read ahead from the upstream for a client that reads slower. */
  public static final int DEFAULT_RESPONSE_BUFFER_SIZE = 64 * 1024;
  /** Default memory all exchanges together may hold in response read-ahead. */
  public static final long DEFAULT_RESPONSE_BUFFER_MEMORY_LIMIT = 64L * 1024 * 1024;
  /** Default pseudonym in the {@code Via} header. */
  public static final String DEFAULT_VIA = "gatehouse";

  private String host = DEFAULT_HOST;
  private int port = 0;
  private int ioThreads = Math.max(1, Runtime.getRuntime().availableProcessors());
  private int workerThreads = 0;
  private final List<Filter> filters = new ArrayList<>();
  private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
  private Duration readTimeout = DEFAULT_READ_TIMEOUT;
  private Duration requestHeaderTimeout = DEFAULT_REQUEST_HEADER_TIMEOUT;
  private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
  private Duration shutdownGracePeriod = DEFAULT_SHUTDOWN_GRACE_PERIOD;
  private Duration slowFilterThreshold = DEFAULT_SLOW_FILTER_THRESHOLD;
  private int maxRequestLineLength = DEFAULT_MAX_REQUEST_LINE_LENGTH;
  private int maxHeaderBytes = DEFAULT_MAX_HEADER_BYTES;
  private int maxHeaderCount = DEFAULT_MAX_HEADER_COUNT;
  private long maxRequestBodySize = -1;
  private ErrorHandler errorHandler = ErrorHandler.defaults();
  private ForwardedHeaders forwardedHeaders = ForwardedHeaders.X_FORWARDED;
  private final List<String> trustedProxies = new ArrayList<>();
  private String via = DEFAULT_VIA;
  private int upstreamMaxConnections = DEFAULT_UPSTREAM_MAX_CONNECTIONS;
  private int upstreamMaxIdleConnections = DEFAULT_UPSTREAM_MAX_IDLE_CONNECTIONS;
  private Duration upstreamKeepAliveTimeout = DEFAULT_UPSTREAM_KEEP_ALIVE_TIMEOUT;
  private int upstreamMaxPending = DEFAULT_UPSTREAM_MAX_PENDING;
  private int responseBufferSize = DEFAULT_RESPONSE_BUFFER_SIZE;
  private long responseBufferMemoryLimit = DEFAULT_RESPONSE_BUFFER_MEMORY_LIMIT;
  private ServerTls tls;
  private boolean http2;
  private java.time.InstantSource clock = java.time.InstantSource.system();
  private AccessLog accessLog;
  private final List<ProxyListener> listeners = new ArrayList<>();
  /** A Micrometer MeterRegistry, kept as Object so that Micrometer loads only when metrics are used. */
  private Object meterRegistry;
  private MetricsOptions metricsOptions = MetricsOptions.defaults();
  private int adminPort = -1;
  /** An OpenTelemetry instance, kept as Object so that OpenTelemetry loads only when tracing is used. */
  private Object openTelemetry;
  private String adminHost = DEFAULT_HOST;
  private HttpCache cache;
  private boolean cachePlacedByTerminal;
  private int maxClientConnections;
  private int maxClientConnectionsPerIp;
  private int maxConcurrentExchanges;

  /** For subclasses. */
  protected ProxyBuilder() {}

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }

  /**
   * The address to listen on.
   *
   * @implSpec Defaults to {@code 127.0.0.1}; use {@code "0.0.0.0"} to accept connections from other hosts.
   */
  public B host(String host) {
    Objects.requireNonNull(host, "host");
    if (host.isBlank()) {
      throw new IllegalArgumentException("host: \"" + host + "\" (expected: a host name or IP address)");
    }
    this.host = host;
    return self();
  }

  /**
   * The port to listen on; 0 picks a free one, see {@link ProxyServer#port()}.
   *
   * @implSpec Defaults to 0.
   */
  public B port(int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0-65535)");
    }
    this.port = port;
    return self();
  }

  /**
   * Number of non-blocking I/O threads. One per core is the nginx model: no I/O thread ever blocks, so
   * more threads than cores only add context switches (measured on one core: 1 thread gave 15-20 % more
   * requests/s than 2, see BENCHMARKS.md).
   *
   * @implSpec Defaults to the available processors.
   */
  public B ioThreads(int ioThreads) {
    if (ioThreads <= 0) {
      throw new IllegalArgumentException("ioThreads: " + ioThreads + " (expected: > 0)");
    }
    this.ioThreads = ioThreads;
    return self();
  }

  /**
   * Number of threads behind {@link ProxyExchange#blockingExecutor()}.
   *
   * @implSpec Defaults to 8 per I/O thread.
   */
  public B workerThreads(int workerThreads) {
    if (workerThreads <= 0) {
      throw new IllegalArgumentException("workerThreads: " + workerThreads + " (expected: > 0)");
    }
    this.workerThreads = workerThreads;
    return self();
  }

  /** Adds a filter; filters run in the order added, before any route filters. */
  public B addFilter(Filter filter) {
    filters.add(Objects.requireNonNull(filter, "filter"));
    return self();
  }

  /**
   * Time allowed to connect to an upstream before answering 502.
   *
   * @implSpec Defaults to 10 s.
   */
  public B connectTimeout(Duration timeout) {
    this.connectTimeout = positive("connectTimeout", timeout);
    return self();
  }

  /**
   * Longest wait for the next byte from the upstream, for the response head as for the body. Before the
   * response starts the client gets 504; during the body its connection is closed. {@link Duration#ZERO}
   * waits forever (not recommended).
   *
   * @implSpec Defaults to 60 s.
   */
  public B readTimeout(Duration timeout) {
    this.readTimeout = nonNegative("readTimeout", timeout);
    return self();
  }

  /**
   * Time a client has to send a complete request head before its connection is closed (protection from
   * slow-header attacks).
   *
   * @implSpec Defaults to 30 s.
   */
  public B requestHeaderTimeout(Duration timeout) {
    this.requestHeaderTimeout = positive("requestHeaderTimeout", timeout);
    return self();
  }

  /**
   * Time a client connection may stay without any traffic before it is closed.
   *
   * @implSpec Defaults to 60 s.
   */
  public B idleTimeout(Duration timeout) {
    this.idleTimeout = positive("idleTimeout", timeout);
    return self();
  }

  /**
   * Time {@link ProxyServer#close()} waits for in-flight exchanges.
   *
   * @implSpec Defaults to 10 s.
   */
  public B shutdownGracePeriod(Duration period) {
    this.shutdownGracePeriod = nonNegative("shutdownGracePeriod", period);
    return self();
  }

  /**
   * A filter holding the I/O thread longer than this is logged; {@link Duration#ZERO} turns the check
   * off. Each synchronous run of the filter chain is timed as a whole (cheap: two clock reads); a run over
   * the threshold is logged with the filters it ran, and each filter is then timed on its own for the next
   * 1000 runs, so that the one that blocks is logged by name.
   *
   * @implSpec Defaults to 10 ms.
   */
  public B slowFilterThreshold(Duration threshold) {
    this.slowFilterThreshold = nonNegative("slowFilterThreshold", threshold);
    return self();
  }

  /**
   * Longest request line accepted; longer gets 414.
   *
   * @implSpec Defaults to 8192 bytes.
   */
  public B maxRequestLineLength(int bytes) {
    if (bytes < 64 || bytes > 1024 * 1024) {
      throw new IllegalArgumentException("maxRequestLineLength: " + bytes + " (expected: 64-1048576)");
    }
    this.maxRequestLineLength = bytes;
    return self();
  }

  /**
   * Largest total size of the request's header fields (names, values and separators); larger gets 431.
   *
   * @implSpec Defaults to 32 KiB.
   */
  public B maxHeaderBytes(int bytes) {
    if (bytes < 256 || bytes > 1024 * 1024) {
      throw new IllegalArgumentException("maxHeaderBytes: " + bytes + " (expected: 256-1048576)");
    }
    this.maxHeaderBytes = bytes;
    return self();
  }

  /**
   * Most header field lines in a request; more gets 431.
   *
   * @implSpec Defaults to 100.
   */
  public B maxHeaderCount(int count) {
    if (count < 1 || count > 10_000) {
      throw new IllegalArgumentException("maxHeaderCount: " + count + " (expected: 1-10000)");
    }
    this.maxHeaderCount = count;
    return self();
  }

  /**
   * Largest request body accepted; larger gets 413 (at once when {@code Content-Length} says so, or as
   * soon as the streamed body crosses the limit, in which case the upstream's connection is aborted so
   * it never sees a complete request).
   *
   * @implSpec Defaults to no limit: bodies stream and cost no memory.
   */
  public B maxRequestBodySize(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("maxRequestBodySize: " + bytes + " (expected: >= 0)");
    }
    this.maxRequestBodySize = bytes;
    return self();
  }

  /**
   * Maps failures to responses.
   *
   * @implSpec Defaults to {@link ErrorHandler#defaults()}.
   */
  public B errorHandler(ErrorHandler handler) {
    this.errorHandler = Objects.requireNonNull(handler, "errorHandler");
    return self();
  }

  /**
   * Which client-identifying headers to send upstream.
   *
   * @implSpec Defaults to {@link ForwardedHeaders#X_FORWARDED}.
   */
  public B forwardedHeaders(ForwardedHeaders mode) {
    this.forwardedHeaders = Objects.requireNonNull(mode, "forwardedHeaders");
    return self();
  }

  /**
   * Peers (addresses or CIDR blocks, IPv4 or IPv6, e.g. {@code "10.0.0.0/8"}) whose {@code
   * X-Forwarded-*} and {@code Forwarded} headers are believed and appended to. Requests from any other
   * peer have those headers replaced. Adds to the list.
   *
   * @implSpec Defaults to none.
   */
  public B trustedProxies(String... cidrs) {
    Objects.requireNonNull(cidrs, "cidrs");
    for (String cidr : cidrs) {
      Objects.requireNonNull(cidr, "cidr");
      CidrSet.parse(cidr, "trustedProxies"); // validates
      trustedProxies.add(cidr);
    }
    return self();
  }

  /**
   * The pseudonym this proxy adds to {@code Via} in both directions (RFC 9110 §7.6.3), or {@code null} to
   * add none.
   *
   * @implSpec Defaults to {@code gatehouse}, giving {@code Via: 1.1 gatehouse}.
   */
  public B via(@Nullable String pseudonym) {
    if (pseudonym != null && !Http.isToken(pseudonym)) {
      throw new IllegalArgumentException("via: \"" + pseudonym + "\" (expected: a token such as gatehouse, or null)");
    }
    this.via = pseudonym;
    return self();
  }

  /**
   * Most client connections open at once. A connection beyond it is closed as soon as it is accepted,
   * before anything is read from it (no TLS handshake, no request); each such refusal is counted ({@code
   * gatehouse.limit.rejections}) and reported to the listeners ({@link ProxyListener#limitReached}).
   * Connections count from their acceptance to their close, tunnels included. 0 means no limit.
   *
   * @implSpec Defaults to 0: no limit (each connection costs a few KiB; the operating system's file
   *     descriptor limit is the bound then).
   */
  public B maxClientConnections(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("maxClientConnections: " + max + " (expected: >= 0, 0 for no limit)");
    }
    this.maxClientConnections = max;
    return self();
  }

  /**
   * Most client connections open at once from one IP address (the TCP peer's, not one named in {@code
   * X-Forwarded-For}), so that one client cannot take every connection {@link #maxClientConnections}
   * allows. Beyond it a connection is closed as soon as it is accepted, counted and reported as there.
   * 0 means no limit.
   *
   * @implSpec Defaults to 0: no limit (clients behind one NAT or load balancer share an address).
   */
  public B maxClientConnectionsPerIp(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("maxClientConnectionsPerIp: " + max
          + " (expected: >= 0, 0 for no limit)");
    }
    this.maxClientConnectionsPerIp = max;
    return self();
  }

  /**
   * Most exchanges in flight at once (from the request head to the end of the response; a tunnel counts
   * until its 200 or 101 is sent). A request beyond it is answered {@code 503 Service Unavailable} with
   * {@code Connection: close}, without running a filter or reaching an upstream; it is logged and
   * counted as any exchange, and reported to the listeners ({@link ProxyListener#limitReached}). 0 means
   * no limit.
   *
   * @implSpec Defaults to 0: no limit.
   */
  public B maxConcurrentExchanges(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("maxConcurrentExchanges: " + max + " (expected: >= 0, 0 for no limit)");
    }
    this.maxConcurrentExchanges = max;
    return self();
  }

  /**
   * Most connections open to one upstream address at once.
   *
   * @implSpec Defaults to 1024.
   */
  public B upstreamMaxConnections(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("upstreamMaxConnections: " + max + " (expected: > 0)");
    }
    this.upstreamMaxConnections = max;
    return self();
  }

  /**
   * Most idle keep-alive connections kept open to one upstream address (nginx's {@code keepalive});
   * 0 closes each connection after use.
   *
   * @implSpec Defaults to 64.
   */
  public B upstreamMaxIdleConnections(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("upstreamMaxIdleConnections: " + max + " (expected: >= 0)");
    }
    this.upstreamMaxIdleConnections = max;
    return self();
  }

  /**
   * How long an idle upstream connection is kept.
   *
   * @implSpec Defaults to 30 s.
   */
  public B upstreamKeepAliveTimeout(Duration timeout) {
    this.upstreamKeepAliveTimeout = positive("upstreamKeepAliveTimeout", timeout);
    return self();
  }

  /**
   * Most requests queued for one upstream address while {@code upstreamMaxConnections} are busy; more
   * get 503 at once. Queued requests wait at most {@code connectTimeout}.
   *
   * @implSpec Defaults to 1024.
   */
  public B upstreamMaxPending(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("upstreamMaxPending: " + max + " (expected: >= 0)");
    }
    this.upstreamMaxPending = max;
    return self();
  }

  /**
   * Bytes of response body read ahead from the upstream while the client reads slower (nginx's {@code
   * proxy_buffers}): the upstream connection is released as soon as the rest of the body fits. Memory
   * per exchange stays within this bound plus one I/O buffer.
   *
   * @implSpec Defaults to 64 KiB.
   */
  public B responseBufferSize(int bytes) {
    if (bytes < 1024 || bytes > 64 * 1024 * 1024) {
      throw new IllegalArgumentException("responseBufferSize: " + bytes + " (expected: 1024-67108864)");
    }
    this.responseBufferSize = bytes;
    return self();
  }

  /**
   * Memory all exchanges together may hold in response read-ahead ({@link #responseBufferSize} each),
   * and tunnels (CONNECT, WebSocket and other upgrades) in the extra buffers of bulk transfers (up to
   * three 16 KiB buffers per direction beyond the one each always has). When it is spent, responses
   * stream at their clients' pace (one I/O buffer each) and tunnels move one buffer per system call
   * until memory frees, so many slow clients or busy tunnels cannot exhaust the heap.
   *
   * @implSpec Defaults to 64 MiB.
   */
  public B responseBufferMemoryLimit(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("responseBufferMemoryLimit: " + bytes + " (expected: >= 0)");
    }
    this.responseBufferMemoryLimit = bytes;
    return self();
  }

  /**
   * Terminates TLS on the listener with these certificates (nginx's {@code listen 443 ssl}); the
   * listener then serves only TLS.
   *
   * @implSpec Defaults to none: plain HTTP.
   */
  public B tls(ServerTls tls) {
    this.tls = Objects.requireNonNull(tls, "tls");
    return self();
  }

  /**
   * Offers HTTP/2 (nginx's {@code http2}): on a TLS listener through ALPN ({@code h2}, falling back to
   * {@code http/1.1}); on a plain listener as h2c, with prior knowledge or by {@code Upgrade: h2c}.
   * HTTP/2 requests go through the same routes and filters. This is about clients only: how the proxy
   * speaks to upstreams is set per upstream group ({@code UpstreamGroup.Builder.http2}), HTTP/1.1 by
   * default.
   *
   * @implSpec Defaults to false.
   */
  public B http2(boolean enabled) {
    this.http2 = enabled;
    return self();
  }

  /**
   * Writes an audit line for every exchange (see {@link AccessLog}); {@code null} for none.
   *
   * @implSpec Defaults to none.
   */
  public B accessLog(@Nullable AccessLog log) {
    this.accessLog = log;
    return self();
  }

  /**
   * Adds a listener for the proxy's life-cycle events: exchanges, upstream attempts, tunnels,
   * connections, TLS handshakes, policy decisions (see {@link ProxyListener}). Listeners are called in
   * the order added, after the proxy's own (access log, metrics, tracing).
   *
   * @implSpec Defaults to none;
   * with none, the proxy does no work for events.
   */
  public B addListener(ProxyListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
    return self();
  }

  /**
   * Caches responses in {@code cache} (see {@link HttpCache}): the cache runs after every filter, right
   * before the request would go upstream, so a hit is only served to requests the filters let through.
   * A reverse proxy's route may use another cache or none; a forward proxy caches plain-HTTP responses
   * and those of the requests it decrypts from an intercepted HTTPS tunnel (keyed by {@code https://host}); other
   * tunnels stay opaque. The cache is not closed with the proxy.
   *
   * @implSpec Defaults to none.
   */
  public B cache(HttpCache cache) {
    this.cache = Objects.requireNonNull(cache, "cache");
    return self();
  }

  /**
   * Publishes the proxy's metrics to a Micrometer registry: requests by route, method, status class
   * and outcome; upstream attempts, retries, rejections and ejections by group and server; server
   * health, pools, client connections, TLS handshakes, tunnels, egress and filter decisions. Names start
   * with {@code gatehouse.} ({@code gatehouse_} in Prometheus); {@link MetricsOptions} lists them. With
   * a {@code PrometheusMeterRegistry} the admin listener serves them at {@code /metrics}. Needs {@code
   * io.micrometer:micrometer-core} (and {@code io.micrometer:micrometer-registry-prometheus} for
   * Prometheus).
   *
   * @implSpec Defaults to none.
   */
  @SuppressWarnings("exports") // an optional library: present when the feature is used
  public B metrics(io.micrometer.core.instrument.MeterRegistry registry) {
    return metrics(registry, MetricsOptions.defaults());
  }

  /** Like {@link #metrics(io.micrometer.core.instrument.MeterRegistry)}, with histograms or extra tags. */
  @SuppressWarnings("exports") // an optional library: present when the feature is used
  public B metrics(io.micrometer.core.instrument.MeterRegistry registry, MetricsOptions options) {
    this.meterRegistry = Objects.requireNonNull(registry, "registry");
    this.metricsOptions = Objects.requireNonNull(options, "options");
    return self();
  }

  /**
   * Traces exchanges with OpenTelemetry ({@code io.opentelemetry:opentelemetry-api}).
   *
   * <p><b>Propagation.</b> W3C {@code traceparent} and {@code tracestate} (and whatever else {@code
   * openTelemetry}'s propagators carry, such as baggage) are read from the client's request and sent to
   * the upstream: an incoming trace is continued with its sampling decision, a request without one
   * starts a new trace, and every upstream attempt is a new hop with a span id of its own. This works
   * with a no-op {@code OpenTelemetry} too: the proxy then makes the ids itself and records nothing.
   *
   * <p><b>Spans</b>, with an SDK configured by the application: a {@code SERVER} span per exchange
   * (from the request head to the end of the response, or of the tunnel) and a {@code CLIENT} span per
   * upstream attempt, so that retries show as separate spans, named and attributed after the stable
   * HTTP semantic conventions ({@code http.request.method}, {@code http.response.status_code}, {@code
   * server.address}, {@code url.full}, {@code http.request.resend_count}, {@code error.type}, ...). A
   * failed attempt records its exception and an {@code error.type} of {@code timeout}, {@code
   * connect-error}, {@code reset}, {@code protocol-error}, {@code rejected} or {@code cancelled}.
   *
   * @implSpec Defaults to none: trace headers pass through untouched, as any other header.
   */
  @SuppressWarnings("exports") // an optional library: present when the feature is used
  public B tracing(io.opentelemetry.api.OpenTelemetry openTelemetry) {
    this.openTelemetry = Objects.requireNonNull(openTelemetry, "openTelemetry");
    return self();
  }

  /**
   * Opens an admin listener on {@code port} (0 picks a free one, see {@link ProxyServer#adminAddress()}),
   * never the proxy's own port:
   *
   * <ul>
   *   <li>{@code /healthz}: 200 while the proxy's I/O threads answer (liveness);
   *   <li>{@code /readyz}: 200 from {@code start()} on, 503 from the moment {@code close()} begins
   *       draining, so that a Kubernetes readiness probe or a load balancer stops sending traffic
   *       before connections are refused;
   *   <li>{@code /status}: {@link ProxyServer#status()} as JSON (routes, groups, servers with health
   *       and ejection state, pools, uptime, version);
   *   <li>{@code /metrics}: the metrics in Prometheus text format, when {@link
   *       #metrics(io.micrometer.core.instrument.MeterRegistry)} was given a {@code
   *       PrometheusMeterRegistry} ({@code io.micrometer:micrometer-registry-prometheus}).
   * </ul>
   *
   * It shows upstream addresses: keep it on loopback or a private network.
   *
   * @implSpec Defaults to none.
   */
  public B adminPort(int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("adminPort: " + port + " (expected: 0-65535)");
    }
    this.adminPort = port;
    return self();
  }

  /**
   * The address the admin listener binds.
   *
   * @implSpec Defaults to {@code 127.0.0.1}.
   */
  public B adminHost(String host) {
    Objects.requireNonNull(host, "adminHost");
    if (host.isBlank()) {
      throw new IllegalArgumentException("adminHost: \"" + host + "\" (expected: a host name or IP address)");
    }
    this.adminHost = host;
    return self();
  }

  /**
   * For subclasses whose terminal places the cache itself (per route, or after a policy decision):
   * returns the cache set with {@link #cache(HttpCache)}, or null, and {@code buildServer} then leaves
   * it to the terminal. Without this call, {@code buildServer} runs the cache right before the terminal.
   */
  protected final @Nullable HttpCache cacheForTerminal() {
    cachePlacedByTerminal = true;
    return cache;
  }

  /**
   * Builds the proxy; does not bind anything (see {@link ProxyServer#start()}).
   *
   * @throws IllegalStateException if settings conflict
   */
  public abstract ProxyServer build();

  /**
   * The clock the proxy reads time from for what it schedules by the clock rather than by I/O events:
   * health-check state, outlier ejection, retry budgets and other time-based policies. Tests pass a
   * clock they move by hand, so time-dependent behaviour is checked without waiting.
   *
   * @implSpec Defaults to {@link java.time.InstantSource#system()}.
   */
  public B clock(java.time.InstantSource clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    return self();
  }

  /**
   * For the direction modules (the one seam between them and the engine): checks the shared settings
   * and creates the server, with {@code terminal} as the last step after the global filters. The
   * terminal decides where a request goes; it is given the engine's view of each exchange. Returns the
   * server as the module sees it, which is also the server its users get.
   */
  @SuppressWarnings("exports") // the SPI is for the direction modules only
  protected final ProxyRuntime buildServer(Terminal terminal, String kind) {
    return buildServer(List.of(), terminal, kind);
  }

  /**
   * For the direction modules: like {@link #buildServer(Terminal, String)}, with {@code first} running
   * before the global filters (the module's own duties that every filter may rely on, such as proxy
   * authentication).
   */
  @SuppressWarnings("exports") // the SPI is for the direction modules only
  protected final ProxyRuntime buildServer(List<ExchangeFilter> first, Terminal terminal, String kind) {
    Objects.requireNonNull(terminal, "terminal");
    if (cache != null && !cachePlacedByTerminal) {
      terminal = dev.gatehouse.proxy.internal.cache.CacheAccess.engine(cache).around(terminal);
    }
    List<Filter> chain = new ArrayList<>(first.size() + filters.size());
    for (ExchangeFilter f : first) {
      chain.add(new Filter() {
        @Override
        public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain next) {
          return f.filter((Exchange) exchange, next); // the engine's exchanges are its view
        }

        @Override
        public String toString() {
          return f.toString();
        }
      });
    }
    chain.addAll(filters);
    if (upstreamMaxIdleConnections > upstreamMaxConnections) {
      throw new IllegalStateException("upstreamMaxIdleConnections: " + upstreamMaxIdleConnections
          + " (expected: <= upstreamMaxConnections " + upstreamMaxConnections + ")");
    }
    if (maxClientConnections > 0 && maxClientConnectionsPerIp > maxClientConnections) {
      throw new IllegalStateException("maxClientConnectionsPerIp: " + maxClientConnectionsPerIp
          + " (expected: <= maxClientConnections " + maxClientConnections + ")");
    }
    if (adminPort > 0 && adminPort == port) {
      throw new IllegalStateException("adminPort: " + adminPort + " (expected: a port other than the proxy's port "
          + port + ")");
    }
    if (!readTimeout.isZero() && readTimeout.compareTo(Duration.ofMillis(1)) < 0) {
      throw new IllegalStateException("readTimeout: " + readTimeout + " (expected: 0 or >= 1 ms)");
    }
    CoreConfig config = new CoreConfig(kind, host, port, ioThreads,
        workerThreads == 0 ? ioThreads * 8 : workerThreads, List.copyOf(chain),
        connectTimeout, readTimeout, requestHeaderTimeout, idleTimeout, shutdownGracePeriod,
        slowFilterThreshold, maxRequestLineLength, maxHeaderBytes, maxHeaderCount, maxRequestBodySize,
        errorHandler, forwardedHeaders, CidrSet.parseAll(trustedProxies, "trustedProxies"), via,
        upstreamMaxConnections, upstreamMaxIdleConnections, upstreamKeepAliveTimeout, upstreamMaxPending,
        responseBufferSize, responseBufferMemoryLimit, tls == null ? null : tls.contexts(),
        tls == null ? Duration.ZERO : tls.reloadInterval(), http2, clock);
    Engine engine = new Engine(config, terminal);
    engine.clientLimits(new ClientLimits(maxClientConnections,
        maxClientConnectionsPerIp, maxConcurrentExchanges));
    if (accessLog != null) {
      accessLog.attach(engine);
    }
    if (meterRegistry != null) {
      Features.metrics(engine, meterRegistry, metricsOptions);
    }
    if (openTelemetry != null) {
      Features.tracing(engine, openTelemetry);
    }
    for (ProxyListener l : listeners) {
      engine.telemetry().addListener(l);
    }
    if (adminPort >= 0) {
      AdminServer.attach(engine, adminHost, adminPort);
    }
    return engine.runtime();
  }

  private static Duration positive(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
    }
    return d;
  }

  private static Duration nonNegative(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative()) {
      throw new IllegalArgumentException(name + ": " + d + " (expected: >= 0)");
    }
    return d;
  }
}
