package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.ProxyRequest;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.http1.HttpDuties;
import dev.gatehouse.proxy.internal.observe.ObservedExchange;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.internal.upstream.UpstreamCall;
import dev.gatehouse.proxy.spi.CallOptions;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.Exchange;
import dev.gatehouse.proxy.spi.HeaderField;
import dev.gatehouse.proxy.spi.PoolSettings;
import io.undertow.server.HttpServerExchange;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.xnio.XnioIoThread;

/**
 * One exchange: the Undertow exchange, the request as filters change it, attributes, upstream calls.
 *
 * <p>Why one class of this size: it is three views of one exchange, each method small: the public {@link
 * dev.gatehouse.proxy.ProxyExchange} filters see, the filter chain's {@link ChainContext}, and the modules'
 * {@link Exchange}; the request body the calls share is a {@link RequestBody} of its own.
 */
public final class ExchangeImpl implements ChainContext, Exchange {
  private final Engine engine;
  private final HttpServerExchange hse;
  private final RequestImpl request;
  private final long startNanos;
  private Map<AttributeKey<?>, Object> attributes;
  private String realClientIp;
  private volatile Throwable misuse;
  private List<UpstreamCall> calls;
  private boolean finished;
  /** The client's body as the calls share it; made on first use, for a request with a body. */
  private RequestBody body;
  private String proxyAuthorization;
  private String upgrade;
  private boolean completionDeferred;
  private List<Runnable> completionCallbacks;
  /** A response has been chosen and committed (or is being). */
  private boolean responded;
  /** What the client finally got, for logs. */
  private int responseStatus;
  private long responseBodyBytes;
  private long requestBodyBytes;
  private final ObservedExchange observed;

  public ExchangeImpl(Engine engine, HttpServerExchange hse, RequestImpl request, long startNanos) {
    this.engine = engine;
    this.hse = hse;
    this.request = request;
    this.startNanos = startNanos;
    this.observed = engine.telemetry().exchangeStarted(this);
  }

  /** The listeners' view of this exchange, or null when no listener is registered. */
  public ObservedExchange observed() {
    return observed;
  }

  @Override
  public ProxyRequest request() {
    return request;
  }

  public RequestImpl requestImpl() {
    return request;
  }

  @Override
  public InetSocketAddress clientAddress() {
    return hse.getSourceAddress();
  }

  @Override
  public InetSocketAddress localAddress() {
    return hse.getDestinationAddress();
  }

  @Override
  public String realClientIp() {
    return realClientIp != null ? realClientIp : HttpDuties.ipText(clientAddress().getAddress());
  }

  public void realClientIp(String ip) {
    this.realClientIp = ip;
  }

  @Override
  public boolean isSecure() {
    return hse.getConnection().getSslSessionInfo() != null;
  }

  @Override
  public List<java.security.cert.X509Certificate> peerCertificates() {
    javax.net.ssl.SSLSession session = hse.getConnection().getSslSession();
    if (session == null) {
      return List.of();
    }
    try {
      List<java.security.cert.X509Certificate> out = new ArrayList<>(2);
      for (java.security.cert.Certificate c : session.getPeerCertificates()) {
        if (c instanceof java.security.cert.X509Certificate) {
          out.add((java.security.cert.X509Certificate) c);
        }
      }
      return java.util.Collections.unmodifiableList(out);
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      return List.of();
    }
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> Optional<T> attribute(AttributeKey<T> key) {
    Objects.requireNonNull(key, "key");
    return attributes == null ? Optional.empty() : Optional.ofNullable((T) attributes.get(key));
  }

  @Override
  public <T> void attribute(AttributeKey<T> key, T value) {
    Objects.requireNonNull(key, "key");
    if (value == null) {
      if (attributes != null) {
        attributes.remove(key);
      }
      return;
    }
    if (attributes == null) {
      attributes = new IdentityHashMap<>(4);
    }
    attributes.put(key, value);
  }

  @Override
  public Executor blockingExecutor() {
    return engine.blockingExecutor();
  }

  @Override
  public long startNanos() {
    return startNanos;
  }

  @Override
  public void onComplete(Runnable callback) {
    Objects.requireNonNull(callback, "callback");
    if (finished) {
      runCallback(callback);
      return;
    }
    if (completionCallbacks == null) {
      completionCallbacks = new ArrayList<>(2);
    }
    completionCallbacks.add(callback);
  }

  private void runCallback(Runnable callback) {
    try {
      callback.run();
    } catch (RuntimeException e) {
      org.slf4j.LoggerFactory.getLogger(ExchangeImpl.class).warn("onComplete callback of {} failed", this, e);
    }
  }

  public Engine engine() {
    return engine;
  }

  public HttpServerExchange hse() {
    return hse;
  }

  public XnioIoThread ioThread() {
    return hse.getIoThread();
  }

  @Override
  public boolean inIoThread() {
    return hse.getIoThread() == Thread.currentThread();
  }

  /**
   * Sends the request, as filters left it, to {@code endpoint}. The stage completes on the I/O thread
   * when the response head has arrived. Must be called on the I/O thread.
   */
  @Override
  public CompletionStage<ProxyResponse> forwardTo(Endpoint endpoint) {
    return forwardTo(endpoint, null, List.of());
  }

  /**
   * Like {@link #forwardTo(Endpoint)}, with a request-target other than the request's path and query
   * (e.g. absolute-form through a parent proxy; {@code null} for the default) and extra fields appended
   * to the head (e.g. {@code Proxy-Authorization} for that parent).
   */
  @Override
  public CompletionStage<ProxyResponse> forwardTo(Endpoint endpoint, String requestTarget,
      List<HeaderField> extraFields) {
    UpstreamCall call = new UpstreamCall(this, endpoint, engine.pool(endpoint), requestTarget, extraFields, null,
        CallOptions.DEFAULTS);
    if (calls == null) {
      calls = new ArrayList<>(1);
    }
    calls.add(call);
    return call.start();
  }

  /**
   * Sends the request to {@code endpoint} with per-call {@code options} (timeouts, pool, listener) and
   * returns the started call; {@link UpstreamCall#response()} completes on the I/O thread when the
   * response head has arrived. Must be called on the I/O thread. May be called again after a failed
   * call (a retry) when {@link #canResendRequest()}.
   */
  @Override
  public UpstreamCall call(Endpoint endpoint, CallOptions options) {
    PoolSettings settings = options.pool() != null ? options.pool() : engine.defaultPoolSettings();
    String passUpgrade = options.upgrade() && wantsUpgrade() ? upgrade : null;
    UpstreamCall call = new UpstreamCall(this, endpoint, engine.pool(endpoint, settings), null, List.of(),
        passUpgrade, options);
    if (calls == null) {
      calls = new ArrayList<>(2);
    }
    calls.add(call);
    call.start();
    return call;
  }

  /**
   * Keeps up to {@code limit} bytes of the request body as it is sent, so that a retry can send it again
   * (a body with a declared length above the limit, or with body transformers, is not kept). Call
   * before the first upstream call.
   */
  @Override
  public void enableRequestReplay(long limit) {
    if (request.hasBody()) {
      requestBody().enableReplay(limit);
    }
  }

  /** Whether another upstream call can still send the whole request (no body, or a body kept in full). */
  @Override
  public boolean canResendRequest() {
    return body == null || !request.hasBody() || body.canResend();
  }

  /** The client's body as the upstream calls share it. */
  public RequestBody requestBody() {
    if (body == null) {
      body = new RequestBody(hse, request);
    }
    return body;
  }

  @Override
  public String requestTarget() {
    return hse.getRequestURI();
  }

  @Override
  public boolean absoluteFormTarget() {
    return hse.isHostIncludedInRequestURI();
  }

  @Override
  public void closeConnectionAfterResponse() {
    hse.setPersistent(false);
  }

  @Override
  public void scheme(String scheme) {
    request.scheme(scheme);
  }

  @Override
  public <T> Optional<T> connectionAttribute(AttributeKey<T> key) {
    return ConnectionAttribute.get(hse, key);
  }

  @Override
  public void routeChosen(String route) {
    Telemetry.routeChosen(this, route);
  }

  @Override
  public void upstreamChosen(String group, String server) {
    Telemetry.upstream(this, group, server);
  }

  /** Keeps the hop-by-hop fields the modules need before they are stripped from the request. */
  public void captureHopByHop(String proxyAuthorization, String upgrade) {
    this.proxyAuthorization = proxyAuthorization;
    this.upgrade = upgrade;
  }

  @Override
  public String proxyAuthorization() {
    return proxyAuthorization;
  }

  /**
   * Whether the client asks to switch protocols in a way the proxy can pass on: an HTTP/1.1 {@code GET}
   * with {@code Upgrade} (HTTP/2 has no upgrade).
   */
  public boolean wantsUpgrade() {
    return upgrade != null && hse.getProtocol().equals(io.undertow.util.Protocols.HTTP_1_1)
        && "GET".equals(request.method());
  }

  /** The client's {@code Upgrade} request, if any. */
  public String upgrade() {
    return upgrade;
  }

  @Override
  public void executeOnIoThread(Runnable task) {
    hse.getIoThread().execute(task);
  }

  @Override
  public SlowFilterCheck slowFilterCheck() {
    return engine.slowFilterCheck();
  }

  /** Records a filter misuse; the client gets a 500 instead of whatever the chain returns. */
  @Override
  public void misuse(Throwable t) {
    if (misuse == null) {
      misuse = t;
    }
  }

  /** The filter misuse recorded, or null. */
  public Throwable misuse() {
    return misuse;
  }

  @Override // both ChainContext and Exchange
  public boolean isFinished() {
    return finished;
  }

  /** Called once when the Undertow exchange completes: aborts upstream calls that are still running. */
  public void finish() {
    finished = true;
    if (calls != null) {
      for (UpstreamCall c : calls) {
        c.abort();
      }
    }
    List<Runnable> callbacks = completionCallbacks;
    completionCallbacks = null;
    if (callbacks != null) {
      for (Runnable r : callbacks) {
        runCallback(r);
      }
    }
  }

  /** Aborts every upstream call except {@code keep}. */
  public void abortCallsExcept(UpstreamCall keep) {
    if (calls != null) {
      for (UpstreamCall c : calls) {
        if (c != keep) {
          c.abort();
        }
      }
    }
  }

  /**
   * Holds back the completion listeners (access log, metrics) when the Undertow exchange ends: the
   * exchange lives on as a tunnel, and its owner calls {@link Engine#completeDeferred} when that ends.
   */
  public void deferCompletion() {
    completionDeferred = true;
  }

  public boolean completionDeferred() {
    return completionDeferred;
  }

  /** Records what a tunnel moved: client to destination, and destination to client. */
  public void recordTunnelBytes(long fromClient, long toClient) {
    requestBodyBytes = fromClient;
    responseBodyBytes = toClient;
  }

  public int responseStatus() {
    return responseStatus;
  }

  /** Records the status the client gets (or got), for logs and events. */
  public void responseStatus(int status) {
    this.responseStatus = status;
  }

  /** Whether a response has been chosen for the client (it is being committed, or was). */
  public boolean responded() {
    return responded;
  }

  /** Marks that a response has been chosen for the client. */
  public void markResponded() {
    this.responded = true;
  }

  /** Counts {@code n} more body bytes written to the client. */
  public void addResponseBodyBytes(long n) {
    responseBodyBytes += n;
  }

  /** Sets the body bytes the client gets, for a body the proxy sends whole. */
  public void responseBodyBytes(long n) {
    responseBodyBytes = n;
  }

  /** Counts {@code n} more request body bytes read from the client (some of the body is now gone). */
  public void addRequestBodyBytes(long n) {
    requestBody().markRead();
    requestBodyBytes += n;
  }

  public long responseBodyBytes() {
    return responseBodyBytes;
  }

  public long requestBodyBytes() {
    return requestBodyBytes;
  }

  /**
   * Ends the client's response abnormally, so a truncated body can never look complete: the connection
   * for HTTP/1.x, only the stream for HTTP/2. {@code out} is the response channel if it was taken.
   */
  public void abortClient(org.xnio.channels.StreamSinkChannel out) {
    hse.setPersistent(false);
    if (io.undertow.util.Protocols.HTTP_2_0.equals(hse.getProtocol())) {
      org.xnio.channels.StreamSinkChannel ch = out != null ? out : hse.getResponseChannel();
      if (ch != null) {
        org.xnio.IoUtils.safeClose(ch);
        return;
      }
    }
    org.xnio.IoUtils.safeClose(hse.getConnection());
  }

  @Override
  public String toString() {
    return "ProxyExchange(" + request + " from " + clientAddress() + ")";
  }
}
