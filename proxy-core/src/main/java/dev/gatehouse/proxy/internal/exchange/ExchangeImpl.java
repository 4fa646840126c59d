package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.ProxyRequest;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.http1.HttpDuties;
import dev.gatehouse.proxy.internal.observe.ObservedExchange;
import dev.gatehouse.proxy.internal.pool.Endpoint;
import dev.gatehouse.proxy.internal.pool.PoolSettings;
import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.internal.upstream.CallOptions;
import dev.gatehouse.proxy.internal.upstream.UpstreamCall;
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

/** One exchange: the Undertow exchange, the request as filters change it, attributes, upstream calls. */
public final class ExchangeImpl implements ChainContext {
  private final Engine engine;
  private final HttpServerExchange hse;
  private final RequestImpl request;
  private final long startNanos;
  private Map<AttributeKey<?>, Object> attributes;
  private String realClientIp;
  private volatile Throwable misuse;
  private List<UpstreamCall> calls;
  private boolean finished;
  private boolean requestBodyClaimed;
  private org.xnio.channels.StreamSourceChannel requestChannel;
  private boolean requestBodyDone;
  /** Some of the client's body has been read (and so is gone unless kept for replay). */
  private boolean requestBodyRead;
  private ReplayBuffer replay;
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
  public CompletionStage<ProxyResponse> forwardTo(Endpoint endpoint) {
    return forwardTo(endpoint, null);
  }

  /**
   * Like {@link #forwardTo(Endpoint)}, with a request-target other than the request's path and query
   * (e.g. absolute-form through a parent proxy; {@code null} for the default) and extra fields appended
   * to the head as name/value pairs (e.g. {@code Proxy-Authorization} for that parent).
   */
  public CompletionStage<ProxyResponse> forwardTo(Endpoint endpoint, String requestTarget, String... extraHeaders) {
    UpstreamCall call = new UpstreamCall(this, endpoint, engine.pool(endpoint), requestTarget, extraHeaders);
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
  public UpstreamCall call(Endpoint endpoint, CallOptions options) {
    PoolSettings settings = options.pool() != null ? options.pool() : engine.defaultPoolSettings();
    String[] extra = null;
    if (options.upgrade() && wantsUpgrade()) {
      extra = new String[] {"Connection", "Upgrade", "Upgrade", upgrade};
    }
    UpstreamCall call = new UpstreamCall(this, endpoint, engine.pool(endpoint, settings), null, extra, options);
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
  public void enableRequestReplay(long limit) {
    if (replay != null || requestBodyClaimed || !request.hasBody()) {
      return;
    }
    replay = new ReplayBuffer(limit);
    if (request.contentLength() > limit || (request.transformers() != null && !request.transformers().isEmpty())) {
      replay.overflow();
    }
  }

  /** Whether another upstream call can still send the whole request (no body, or a body kept in full). */
  public boolean canResendRequest() {
    if (!request.hasBody() || !requestBodyClaimed || !requestBodyRead) {
      return true;
    }
    return replay != null && !replay.overflowed()
        && (request.transformers() == null || request.transformers().isEmpty());
  }

  public ReplayBuffer replayBuffer() {
    return replay != null && !replay.overflowed() ? replay : null;
  }

  /** The client's request body channel; the same one for every attempt. */
  public org.xnio.channels.StreamSourceChannel requestChannel() {
    if (requestChannel == null) {
      requestChannel = hse.getRequestChannel();
    }
    return requestChannel;
  }

  public boolean requestBodyDone() {
    return requestBodyDone;
  }

  public void requestBodyDone(boolean done) {
    this.requestBodyDone = done;
  }

  /** Keeps the hop-by-hop fields the modules need before they are stripped from the request. */
  public void captureHopByHop(String proxyAuthorization, String upgrade) {
    this.proxyAuthorization = proxyAuthorization;
    this.upgrade = upgrade;
  }

  /** The client's {@code Proxy-Authorization}, which is never forwarded. */
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

  /** Only one upstream call may stream the client's request body. */
  public boolean claimRequestBody() {
    if (requestBodyClaimed) {
      return canResendRequest();
    }
    requestBodyClaimed = true;
    return true;
  }

  public boolean requestBodyClaimed() {
    return requestBodyClaimed;
  }

  @Override
  public void executeOnIoThread(Runnable task) {
    hse.getIoThread().execute(task);
  }

  @Override
  public long slowFilterThresholdNanos() {
    return engine.config().slowFilterThreshold().toNanos();
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

  @Override
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
    requestBodyRead = true;
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
