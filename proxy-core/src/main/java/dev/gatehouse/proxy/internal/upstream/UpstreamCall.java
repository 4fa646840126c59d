package dev.gatehouse.proxy.internal.upstream;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.ClientTimeoutException;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.ResponseImpl;
import dev.gatehouse.proxy.internal.h2.H2Requests;
import dev.gatehouse.proxy.internal.h2.H2Sessions;
import dev.gatehouse.proxy.internal.http1.BodyDecoder;
import dev.gatehouse.proxy.internal.http1.RequestHead;
import dev.gatehouse.proxy.internal.http1.ResponseFraming;
import dev.gatehouse.proxy.internal.http1.ResponseHeadParser;
import dev.gatehouse.proxy.internal.observe.ObservedAttempt;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.internal.pool.Endpoint;
import dev.gatehouse.proxy.internal.pool.HostPool;
import dev.gatehouse.proxy.internal.pool.UpstreamConnection;
import dev.gatehouse.proxy.internal.server.CoreConfig;
import dev.gatehouse.proxy.internal.server.InterimResponses;
import dev.gatehouse.proxy.internal.tunnel.Tunnel;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.io.IoCallback;
import io.undertow.io.Sender;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpContinue;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

/**
 * One request/response exchange with an upstream over a pooled HTTP/1.1 connection: writes the head,
 * streams the request body, reads interim and final response heads, and hands the body to a {@link
 * ResponseStreamer}. Everything runs on the client exchange's I/O thread, so no state here is shared.
 *
 * <p>A pooled connection that turns out to be dead (the upstream closed it while idle) is replaced once,
 * as long as no byte of the request body has been consumed: the request never reached the upstream.
 */
public final class UpstreamCall implements HostPool.Acquirer, H2Sessions.Receiver, H2Sessions.Stream,
    UpstreamConnection.User {
  private static final Logger log = LoggerFactory.getLogger(UpstreamCall.class);
  /** How long to wait for an upstream's 100 Continue before sending the body anyway (as curl does). */
  private static final long CONTINUE_WAIT_MS = 1000;

  final ExchangeImpl ex;
  final HttpServerExchange hse;
  final Endpoint endpoint;
  final HostPool pool;
  final CoreConfig config;
  final XnioIoThread thread;
  private final CompletableFuture<ProxyResponse> result = new CompletableFuture<>();
  private final long readTimeoutNanos;
  private final long writeTimeoutNanos;
  private final long tryTimeoutNanos;
  private final long connectTimeoutMillis;
  private final CallOptions options;
  private final CallListener listener;
  private final long startNanos = System.nanoTime();
  private XnioExecutor.Key deadlineTimer;
  private boolean ended;
  private ObservedAttempt observed;
  /** Whether any byte of this request reached the upstream's socket (so it may have acted on it). */
  boolean requestBytesWritten;
  /** The request asks the upstream to switch protocols ({@code Upgrade}); a 101 is then accepted. */
  final boolean upgradeRequested;
  /** The upstream answered 101: the connection is reserved for a tunnel. */
  private boolean upgraded;
  private boolean tunneling;
  private boolean upgradeCommitted;
  private ByteBuffer upgradeLeftover;

  private HostPool.Waiter waiter;
  UpstreamConnection conn;
  private boolean reused;
  private boolean retried;
  /** Given up: connection closed, buffers released. */
  boolean aborted;
  /** The response was read completely and the connection went back to the pool. */
  boolean finished;
  /** The client left mid-body and the body is read on without it (see {@link #detachFromClient()}). */
  private boolean detachedFromClient;

  private RequestSender sender;
  boolean requestSent;
  boolean bodyConsumed;
  private boolean awaitingContinue;
  private boolean continueDecided;
  private XnioExecutor.Key continueTimer;

  /** HTTP/2 to the upstream: the session, the stream's two halves, and whether it was reset. */
  private boolean h2Mode;
  private H2Sessions.Session h2Session;
  private org.xnio.channels.StreamSinkChannel h2Sink;
  private org.xnio.channels.StreamSourceChannel h2Source;
  private boolean h2Reset;
  private XnioExecutor.Key h2Timer;
  /** Counts the HTTP/2 streams this call opened; callbacks of an earlier one are ignored. */
  private int h2Attempt;
  /** The id of this call's stream on its HTTP/2 connection, 0 when none is open. */
  private int h2StreamId;

  private final ResponseHeadParser parser = new ResponseHeadParser();
  private PooledByteBuffer readBuffer;
  private boolean responseBytesSeen;
  private ResponseImpl response;
  ResponseStreamer streamer;
  private long lastUpstreamNanos;
  private long lastClientNanos;
  private final long idleTimeoutNanos;

  /** Request-target to send, or null for the request's path and query. */
  final String requestTarget;
  final String[] extraHeaders;

  public UpstreamCall(ExchangeImpl ex, Endpoint endpoint, HostPool pool, String requestTarget, String[] extraHeaders) {
    this(ex, endpoint, pool, requestTarget, extraHeaders, CallOptions.DEFAULTS);
  }

  public UpstreamCall(ExchangeImpl ex, Endpoint endpoint, HostPool pool, String requestTarget, String[] extraHeaders,
      CallOptions options) {
    this.options = options == null ? CallOptions.DEFAULTS : options;
    this.listener = this.options.listener();
    this.upgradeRequested = this.options.upgrade() && extraHeaders != null && extraHeaders.length == 4
        && "Upgrade".equals(extraHeaders[2]);
    this.requestTarget = requestTarget;
    this.extraHeaders = extraHeaders == null ? new String[0] : extraHeaders;
    this.ex = ex;
    this.hse = ex.hse();
    this.endpoint = endpoint;
    this.pool = pool;
    this.config = ex.engine().config();
    this.thread = hse.getIoThread();
    this.readTimeoutNanos = (this.options.readTimeout() != null ? this.options.readTimeout() : config.readTimeout()).toNanos();
    this.writeTimeoutNanos = this.options.writeTimeout() != null ? this.options.writeTimeout().toNanos() : readTimeoutNanos;
    this.tryTimeoutNanos = this.options.tryTimeout() != null ? this.options.tryTimeout().toNanos() : 0;
    this.connectTimeoutMillis = Math.max(1, (this.options.connectTimeout() != null ? this.options.connectTimeout()
        : config.connectTimeout()).toMillis());
    this.idleTimeoutNanos = config.idleTimeout().toNanos();
    // the final response's fields are parsed straight into the exchange's map: no copy at commit
    this.parser.finalTarget(hse.getResponseHeaders());
  }

  /** The stage that completes with the response head (on the I/O thread). */
  public CompletionStage<ProxyResponse> response() {
    return result;
  }

  /** Whether any byte of the request was written to an upstream connection (it may have acted on it). */
  public boolean requestBytesWritten() {
    return requestBytesWritten;
  }

  /** The endpoint this call goes to. */
  public Endpoint endpoint() {
    return endpoint;
  }

  @Override
  public long connectTimeoutMillis() {
    return connectTimeoutMillis;
  }

  /** Starts the call: acquires a connection (or an HTTP/2 stream) and sends the request. */
  public CompletionStage<ProxyResponse> start() {
    observed = Telemetry.attemptStarted(ex, endpoint);
    String unsafe = RequestHead.unsafeHead(ex.requestImpl(),
        requestTarget != null ? requestTarget : ex.requestImpl().pathAndQuery(), extraHeaders);
    if (unsafe != null) {
      // every path into here validates; this refuses what a future one might let through
      IllegalStateException e = new IllegalStateException("refusing to send a malformed request head upstream: "
          + unsafe);
      ended(e);
      result.completeExceptionally(e);
      return result;
    }
    if (ex.requestImpl().hasBody() && !ex.claimRequestBody()) {
      ended(new IllegalStateException("the request body was already sent to another upstream and was not "
          + "buffered for a retry; it can be sent once"));
      result.completeExceptionally(new IllegalStateException(
          "the request body was already sent to another upstream; it can be sent once"));
      return result;
    }
    long deadlineWait = Long.MAX_VALUE;
    if (tryTimeoutNanos > 0) {
      deadlineWait = tryTimeoutNanos;
    }
    if (options.deadlineNanos() != 0) {
      deadlineWait = Math.min(deadlineWait, Math.max(0, options.deadlineNanos() - startNanos));
    }
    if (deadlineWait != Long.MAX_VALUE) {
      deadlineTimer = thread.executeAfter(this::onDeadline, Math.max(1_000_000, deadlineWait), TimeUnit.NANOSECONDS);
    }
    H2Sessions h2 = pool.h2();
    if (h2 != null && !h2.http1Only() && !upgradeRequested) {
      h2Mode = true;
      h2.acquire(thread, hse.getConnection().getByteBufferPool(), connectTimeoutMillis, this);
      return result;
    }
    waiter = pool.acquire(thread, this);
    return result;
  }

  /** The try timeout or the total deadline passed. */
  private void onDeadline() {
    deadlineTimer = null;
    if (aborted || finished) {
      return;
    }
    long now = System.nanoTime();
    boolean total = options.deadlineNanos() != 0 && now - options.deadlineNanos() >= 0;
    if (!total && response != null) {
      // the try timeout covers the wait for the head only; the deadline may still come
      if (options.deadlineNanos() != 0) {
        deadlineTimer = thread.executeAfter(this::onDeadline, Math.max(1_000_000, options.deadlineNanos() - now),
            TimeUnit.NANOSECONDS);
      }
      return;
    }
    UpstreamTimeoutException e = total
        ? new UpstreamTimeoutException("upstream " + endpoint + " did not complete the response within the total timeout")
        : new UpstreamTimeoutException("upstream " + endpoint + " sent no response head within tryTimeout "
            + java.time.Duration.ofNanos(tryTimeoutNanos));
    if (streamer != null && streamer.started()) {
      streamer.upstreamFailed(e);
    } else {
      dontReuse();
      fail(e);
    }
  }

  private void ended(Throwable error) {
    if (ended) {
      return;
    }
    ended = true;
    Telemetry.attemptEnded(observed, error, response == null ? 0 : response.status());
    if (listener != null) {
      try {
        listener.onEnd(error);
      } catch (RuntimeException e) {
        log.warn("call listener failed", e);
      }
    }
  }

  // ---------------------------------------------------------------- connection

  @Override
  public void onConnection(UpstreamConnection c, boolean reused) {
    waiter = null;
    if (aborted) {
      pool.release(c);
      return;
    }
    this.conn = c;
    this.reused = reused;
    c.use(this);
    long now = System.nanoTime();
    lastUpstreamNanos = now;
    lastClientNanos = now;
    c.ensureTimer(checkInterval());
    c.source().getReadSetter().set(ch -> onReadable());
    c.source().resumeReads();
    sender = new RequestSender(this, c);
    sender.start();
  }

  @Override
  public void onConnectFailure(RuntimeException failure) {
    waiter = null;
    if (!aborted) {
      log.debug("{}: {}", ex, failure.getMessage());
      fail(failure);
    }
  }

  /** Bytes moved to or from the upstream (or the proxy starts waiting on it): the read timeout starts over. */
  void touch() {
    lastUpstreamNanos = System.nanoTime();
  }

  /** Bytes moved to or from the client (or the proxy starts waiting on it): the idle timeout starts over. */
  void touchClient() {
    lastClientNanos = System.nanoTime();
  }

  // ---------------------------------------------------------------- request side, called by RequestSender

  /** The head was written with {@code Expect: 100-continue}; wait for the upstream's go-ahead. */
  void awaitContinue() {
    if (continueDecided || awaitingContinue) {
      return;
    }
    awaitingContinue = true;
    touch();
    continueTimer = thread.executeAfter(() -> {
      continueTimer = null;
      if (awaitingContinue && !aborted) {
        // The upstream neither accepted nor refused: let the client send the body anyway.
        awaitingContinue = false;
        continueClient();
      }
    }, CONTINUE_WAIT_MS, TimeUnit.MILLISECONDS);
  }

  /** Tells the client to send its body (100 Continue), then streams it. */
  void continueClient() {
    continueDecided = true;
    RequestSender s = sender;
    if (HttpContinue.requiresContinueResponse(hse) && !HttpContinue.isContinueResponseSent(hse)) {
      HttpContinue.sendContinueResponse(hse, new IoCallback() {
        @Override
        public void onComplete(HttpServerExchange exchange, Sender unused) {
          if (s == sender && !aborted) {
            s.startBody();
          }
        }

        @Override
        public void onException(HttpServerExchange exchange, Sender unused, IOException e) {
          clientGone(e);
        }
      });
    } else {
      s.startBody();
    }
  }

  void onRequestSent() {
    requestSent = true;
    touch();
  }

  /** Writing to the upstream failed. It may still have answered (e.g. 413 then close): read first. */
  void onUpstreamWriteFailed(IOException e) {
    if (aborted) {
      return;
    }
    if (h2Mode) {
      if (response == null) {
        h2Reset = true;
        fail(new UpstreamResponseException("upstream " + endpoint + " reset the stream while receiving the request", e));
      }
      return;
    }
    conn.dontReuse();
    if (reused && !responseBytesSeen && !bodyConsumed && !retried) {
      retry(e);
      return;
    }
    if (response == null) {
      onReadable();
      if (!aborted && response == null && !parser.hasPartialData()) {
        fail(new UpstreamResponseException("upstream " + endpoint + " closed the connection while receiving the request", e));
      }
    }
  }

  /** The client's body could not be read: malformed chunked framing, or the client went away. */
  void onClientBodyFailed(IOException e) {
    if (aborted) {
      return;
    }
    hse.setPersistent(false);
    // Close the upstream connection mid-request, so the upstream never sees a complete request.
    fail(new dev.gatehouse.proxy.MalformedRequestException("malformed or incomplete request body", e));
  }

  /** The request body went over a limit (maxRequestBodySize, or an aggregate transformer). */
  void onRequestBodyRejected(RuntimeException e) {
    if (aborted) {
      return;
    }
    hse.setPersistent(false);
    fail(e);
  }

  /**
   * The client left, but the body is still read to its end (a cache wants it): the end of the client's
   * exchange no longer aborts this call; it ends when the body does, or fails.
   */
  void detachFromClient() {
    detachedFromClient = true;
  }

  void clientGone(IOException e) {
    log.debug("{}: client connection failed: {}", ex, e.toString());
    ex.hse().setPersistent(false);
    abort();
  }

  // ---------------------------------------------------------------- response head

  void onReadable() {
    if (aborted || finished || (conn == null && h2Source == null)) {
      return;
    }
    if (response != null) {
      if (streamer != null && streamer.started()) {
        streamer.onUpstreamReadable();
      } else {
        strayBytes();
      }
      return;
    }
    for (;;) {
      if (readBuffer == null) {
        readBuffer = hse.getConnection().getByteBufferPool().allocate();
      }
      ByteBuffer b = readBuffer.getBuffer();
      b.clear();
      int n;
      try {
        n = conn.source().read(b);
      } catch (IOException e) {
        headFailed(e);
        return;
      }
      if (n == 0) {
        return;
      }
      if (n < 0) {
        headFailed(null);
        return;
      }
      responseBytesSeen = true;
      touch();
      b.flip();
      try {
        while (parser.feed(b)) {
          int status = parser.status();
          if (status == 100) {
            if (awaitingContinue) {
              awaitingContinue = false;
              cancelContinueTimer();
              continueClient();
            }
            parser.reset();
          } else if (status == 101) {
            if (!upgradeRequested) {
              throw new UpstreamResponseException("upstream switched protocols without being asked");
            }
            onUpgraded(b);
            return;
          } else if (status < 200) {
            InterimResponses.forward(hse, status, parser.reason(), parser.headers());
            parser.reset();
          } else {
            onFinalHead(b);
            return;
          }
        }
      } catch (UpstreamResponseException e) {
        conn.dontReuse();
        fail(e);
        return;
      }
    }
  }

  /** The upstream sent something (or closed) after a complete response, before it was streamed. */
  private void strayBytes() {
    dontReuse();
    source().suspendReads();
  }

  private void headFailed(IOException e) {
    if (aborted) {
      return;
    }
    conn.dontReuse();
    if (reused && !responseBytesSeen && !bodyConsumed && !retried) {
      retry(e);
      return;
    }
    String what = e == null ? "closed the connection" : "reset the connection (" + e.getMessage() + ")";
    fail(new UpstreamResponseException("upstream " + endpoint + " " + what + " before sending a response", e));
  }

  private void retry(IOException cause) {
    log.debug("{}: pooled connection to {} was dead ({}); retrying on a new one", ex, endpoint,
        cause == null ? "closed" : cause.toString());
    retried = true;
    if (sender != null) {
      sender.stop();
      sender = null;
    }
    awaitingContinue = false;
    continueDecided = false;
    cancelContinueTimer();
    UpstreamConnection dead = conn;
    conn = null;
    dead.use(null);
    dead.close();
    parser.reset();
    requestSent = false;
    waiter = pool.acquire(thread, this);
  }

  /** The upstream agreed to switch protocols: hand the 101 out; the connection waits for the tunnel. */
  private void onUpgraded(ByteBuffer rest) {
    upgraded = true;
    conn.dontReuse();
    conn.source().suspendReads();
    conn.source().getReadSetter().set(null);
    if (rest.hasRemaining()) {
      upgradeLeftover = ByteBuffer.allocate(rest.remaining());
      upgradeLeftover.put(rest).flip();
    }
    if (readBuffer != null) {
      readBuffer.close();
      readBuffer = null;
    }
    cancelDeadlineTimer();
    response = new ResponseImpl(101, parser.headers(), this, parser.protocol());
    if (listener != null) {
      try {
        listener.onResponseHead(101);
      } catch (RuntimeException e) {
        log.warn("call listener failed", e);
      }
    }
    result.complete(response);
  }

  /**
   * Streams the response body to the client through {@code transformers}, after its head has been
   * committed to the exchange. On the I/O thread.
   */
  public void streamResponse(List<BodyTransformer> transformers) {
    streamer.start(transformers);
  }

  /** Lets {@code observer} see the response body as it is received. Before {@link #streamResponse}. */
  public void observeBody(BodyObserver observer) {
    streamer.observe(observer);
  }

  /** Reads the response body to its end without sending it to the client. Instead of {@link #streamResponse}. */
  public void discardBody() {
    streamer.startDiscarding();
  }

  /** Whether the upstream switched protocols (the response is a 101 to be answered with a tunnel). */
  public boolean upgraded() {
    return upgraded;
  }

  /**
   * The 101 is being sent to the client: the exchange will complete before the tunnel starts, so this
   * call must not be aborted with it. Should the client's connection never come (it closed first), the
   * upstream connection is closed after a while.
   */
  public void upgradeCommitted() {
    upgradeCommitted = true;
    thread.executeAfter(() -> {
      if (!tunneling && conn != null) {
        log.debug("{}: client gone before the tunnel started", ex);
        cleanup();
        ended(new java.util.concurrent.CancellationException("client gone before the tunnel started"));
      }
    }, 10, TimeUnit.SECONDS);
  }

  /**
   * Joins the client's connection (after the 101 was sent to it) and the upstream's in a {@link Tunnel};
   * on the I/O thread. The call ends when the tunnel does.
   */
  public void startTunnel(org.xnio.StreamConnection client) {
    if (aborted || conn == null) {
      org.xnio.IoUtils.safeClose(client);
      return;
    }
    tunneling = true;
    UpstreamConnection c = conn;
    conn = null;
    c.use(null);
    long idleMillis = readTimeoutNanos > 0 ? readTimeoutNanos / 1_000_000 : config.idleTimeout().toMillis();
    try {
      Tunnel.start(client, c.streamConnection(), hse.getConnection().getByteBufferPool(), null, upgradeLeftover, idleMillis,
          (t, up, down, reason) -> {
            log.debug("{}: tunnel to {} ended ({}), {} bytes up, {} down", ex, endpoint, reason, up, down);
            ex.recordTunnelBytes(up, down);
            Telemetry.tunnelClosed(ex);
            c.close();
            ended(reason.startsWith("error") ? new java.io.IOException("tunnel " + reason) : null);
          });
      Telemetry.tunnelOpened(ex);
    } catch (RuntimeException e) {
      log.warn("{}: cannot join client and upstream {}: {}", ex, endpoint, e.getMessage());
      org.xnio.IoUtils.safeClose(client);
      c.close();
      ended(e);
    }
  }

  private void onFinalHead(ByteBuffer rest) {
    int status = parser.status();
    HeaderMap headers = parser.headers();
    if (awaitingContinue) {
      continueDecided = true;
      // Refused without 100 Continue: the body will not be sent, so neither side can be reused.
      awaitingContinue = false;
      cancelContinueTimer();
      conn.dontReuse();
      hse.setPersistent(false);
      if (sender != null) {
        sender.stop();
      }
    }
    BodyDecoder decoder = ResponseFraming.http1(ex.requestImpl().method(), status, headers);
    if (decoder.endsAtClose() || !ResponseFraming.keepAlive(headers, parser.protocol())) {
      conn.dontReuse();
    }
    if (!decoder.completeIn(rest)) {
      // the body streams once filters have returned; until then nothing may be read
      conn.source().suspendReads();
    }
    PooledByteBuffer leftover = readBuffer;
    readBuffer = null;
    headArrived(new ResponseImpl(status, headers, this, parser.protocol()), new ResponseStreamer(this, decoder, leftover, rest));
  }

  /** The final response head is in: the try timeout stops, listeners hear of it, the stage completes. */
  private void headArrived(ResponseImpl r, ResponseStreamer s) {
    response = r;
    streamer = s;
    if (tryTimeoutNanos > 0 && deadlineTimer != null && options.deadlineNanos() == 0) {
      deadlineTimer.remove();
      deadlineTimer = null;
    }
    if (listener != null) {
      try {
        listener.onResponseHead(r.status());
      } catch (RuntimeException e) {
        log.warn("call listener failed", e);
      }
    }
    result.complete(r);
  }

  // ---------------------------------------------------------------- timeouts

  /**
   * Called by the connection's timer (one per connection, rescheduled lazily, so requests cause no
   * timer churn). Fails the call if the upstream owed bytes for longer than readTimeout, or the client
   * for longer than idleTimeout; otherwise returns the nanoseconds until the next check.
   */
  @Override
  public long checkTimeouts(long now) {
    if (aborted || finished) {
      return -1;
    }
    long next = checkInterval();
    boolean writing = response == null && sender != null && sender.blockedOnUpstream();
    long limit = writing ? writeTimeoutNanos : readTimeoutNanos;
    if (waitingForUpstream() && limit > 0) {
      long elapsed = now - lastUpstreamNanos;
      if (elapsed >= limit) {
        UpstreamTimeoutException e = writing
            ? new UpstreamTimeoutException("upstream " + endpoint + " accepted no request bytes for writeTimeout "
                + java.time.Duration.ofNanos(writeTimeoutNanos))
            : new UpstreamTimeoutException("upstream " + endpoint + " sent nothing for readTimeout "
                + java.time.Duration.ofNanos(readTimeoutNanos));
        if (streamer != null && streamer.started()) {
          streamer.upstreamFailed(e);
        } else {
          dontReuse();
          fail(e);
        }
        return -1;
      }
      next = Math.min(next, limit - elapsed);
    } else {
      lastUpstreamNanos = now;
    }
    if (waitingForClient()) {
      long elapsed = now - lastClientNanos;
      if (elapsed >= idleTimeoutNanos) {
        ClientTimeoutException e = new ClientTimeoutException("client sent or read nothing for idleTimeout "
            + config.idleTimeout());
        hse.setPersistent(false);
        if (streamer != null && streamer.started()) {
          streamer.clientTimedOut(e);
        } else {
          dontReuse();
          fail(e);
        }
        return -1;
      }
      next = Math.min(next, idleTimeoutNanos - elapsed);
    } else {
      lastClientNanos = now;
    }
    return Math.max(1_000_000, next);
  }

  /** The longest the connection's timer may wait between checks. */
  private long checkInterval() {
    long n = idleTimeoutNanos;
    if (readTimeoutNanos > 0) {
      n = Math.min(n, readTimeoutNanos);
    }
    if (writeTimeoutNanos > 0) {
      n = Math.min(n, writeTimeoutNanos);
    }
    return n;
  }

  /** Whether the proxy is waiting on the upstream (not on the client, nor on filters). */
  private boolean waitingForUpstream() {
    if (response == null) {
      return requestSent || awaitingContinue || (sender != null && sender.blockedOnUpstream());
    }
    return streamer != null && streamer.waitingForUpstream();
  }

  /** Whether the proxy is waiting on the client: body bytes to read, or room to write. */
  private boolean waitingForClient() {
    return (sender != null && sender.waitingForClient()) || (streamer != null && streamer.waitingForClient());
  }

  private void cancelContinueTimer() {
    if (continueTimer != null) {
      continueTimer.remove();
      continueTimer = null;
    }
  }

  // ---------------------------------------------------------------- endings

  /** The response body was read completely: return the connection to the pool. */
  void onResponseComplete() {
    if (finished || aborted) {
      return;
    }
    finished = true;
    cancelDeadlineTimer();
    ended(null);
    if (h2Mode) {
      if (sender != null && !sender.isDone()) {
        hse.setPersistent(false); // the upstream answered before the whole request was sent
        sender.stop();
        org.xnio.IoUtils.safeClose(h2Sink);
      }
      h2Source.getReadSetter().set(null);
      endH2Stream();
      return;
    }
    UpstreamConnection c = conn;
    conn = null;
    c.use(null);
    if (sender != null && !sender.isDone()) {
      c.dontReuse(); // the upstream answered before the whole request was sent
      hse.setPersistent(false);
      sender.stop();
    }
    c.source().getReadSetter().set(null);
    c.sink().getWriteSetter().set(null);
    pool.release(c);
  }

  /** Fails the call before the response head was handed out: the error handler answers the client. */
  void fail(Throwable e) {
    if (aborted || finished) {
      return;
    }
    cleanup();
    ended(e);
    if (!result.isDone()) {
      result.completeExceptionally(e);
    }
  }

  /**
   * The body failed before anything was sent to the client (a transformer held it): the error handler
   * still gets to answer.
   */
  void failStreaming(RuntimeException e, boolean duringResponse) {
    if (!finished) {
      dontReuse();
      cleanup();
      ended(e);
    }
    ex.engine().respondWithError(ex, e, duringResponse);
  }

  /** The body failed after the response started; the streamer closes the client side. */
  void abortStreaming(RuntimeException e) {
    log.debug("{}: response aborted: {}", ex, e.getMessage());
    if (!finished && !aborted) {
      dontReuse();
      ResponseStreamer s = streamer;
      streamer = null; // it still drains what it holds to the client
      cleanup();
      streamer = s;
      ended(e);
    }
  }

  /** Gives up silently: the exchange ended or chose another response. */
  public void abort() {
    if (aborted || finished || tunneling || upgradeCommitted || detachedFromClient) {
      return;
    }
    if (streamer != null && streamer.started() && streamer.continueWithoutClient()) {
      return; // the client's exchange ended mid-body, but the body is still wanted (a cache stores it)
    }
    cleanup();
    java.util.concurrent.CancellationException c = new java.util.concurrent.CancellationException("upstream call aborted");
    ended(c);
    if (!result.isDone()) {
      result.completeExceptionally(c);
    }
  }

  private void cancelDeadlineTimer() {
    if (deadlineTimer != null) {
      deadlineTimer.remove();
      deadlineTimer = null;
    }
  }

  private void cleanup() {
    aborted = true;
    cancelDeadlineTimer();
    cancelContinueTimer();
    if (waiter != null) {
      pool.withdraw(waiter);
      waiter = null;
    }
    if (sender != null) {
      sender.stop();
    }
    if (streamer != null) {
      streamer.release();
    }
    if (readBuffer != null) {
      readBuffer.close();
      readBuffer = null;
    }
    if (conn != null) {
      UpstreamConnection c = conn;
      conn = null;
      c.use(null);
      c.close();
    }
    if (h2Session != null) {
      // closing an unfinished stream resets it (RST_STREAM): the upstream stops working on it
      org.xnio.IoUtils.safeClose(h2Sink);
      org.xnio.IoUtils.safeClose(h2Source);
      endH2Stream();
    }
  }

  // ---------------------------------------------------------------- HTTP/2

  /** The channel the response body is read from. */
  org.xnio.channels.StreamSourceChannel source() {
    return h2Mode ? h2Source : conn.source();
  }

  /** Whether the body arrives in frames of a multiplexed connection (HTTP/2), one per read event. */
  boolean framedSource() {
    return h2Mode;
  }

  /** Whether a response body source is still attached. */
  boolean hasSource() {
    return h2Mode ? h2Source != null && h2Session != null : conn != null;
  }

  /** The connection must not carry another request (HTTP/1.1; an HTTP/2 stream is never reused). */
  void dontReuse() {
    if (conn != null) {
      conn.dontReuse();
    }
  }

  /** Whether the end of the body source is a proper end (not an HTTP/2 stream reset). */
  boolean cleanEnd() {
    return !h2Reset;
  }

  private void endH2Stream() {
    if (h2Timer != null) {
      h2Timer.remove();
      h2Timer = null;
    }
    H2Sessions.Session s = h2Session;
    h2Session = null;
    if (s != null) {
      if (h2StreamId > 0) {
        s.unregister(h2StreamId);
        h2StreamId = 0;
      }
      s.end();
    }
  }

  /**
   * The upstream's GOAWAY says this stream was not processed (RFC 9113 §6.8): sent again on a new
   * connection when nothing of the response arrived and the body can be sent again, whatever the method
   * (the upstream did not act on it); otherwise a 502 that says so.
   */
  @Override
  public void refusedByGoAway() {
    if (aborted || finished || !h2Mode) {
      return;
    }
    if (response == null && !bodyConsumed && !retried) {
      log.debug("{}: upstream {} will not process stream {} (GOAWAY); sending it on a new connection", ex, endpoint,
          h2StreamId);
      retried = true;
      h2Attempt++; // what the old stream still reports is ignored
      if (sender != null) {
        sender.stop();
        sender = null;
      }
      org.xnio.IoUtils.safeClose(h2Sink); // resets our side of the stream
      if (h2Source != null) {
        h2Source.getReadSetter().set(null);
        org.xnio.IoUtils.safeClose(h2Source);
      }
      h2Sink = null;
      h2Source = null;
      h2Reset = false;
      requestBytesWritten = false;
      requestSent = false;
      endH2Stream();
      pool.h2().acquire(thread, hse.getConnection().getByteBufferPool(), connectTimeoutMillis, this);
      return;
    }
    h2Reset = true;
    UpstreamResponseException e = new UpstreamResponseException("upstream " + endpoint
        + " closed the HTTP/2 connection (GOAWAY) without processing the request");
    if (streamer != null && streamer.started()) {
      streamer.upstreamFailed(e);
    } else {
      fail(e);
    }
  }

  @Override
  public void onHttp1Only() {
    if (aborted) {
      return;
    }
    h2Mode = false;
    waiter = pool.acquire(thread, this);
  }

  @Override
  public void onSessionFailure(RuntimeException failure) {
    onConnectFailure(failure);
  }

  @Override
  public void onSession(H2Sessions.Session session) {
    if (aborted) {
      session.end();
      return;
    }
    h2Session = session;
    long now = System.nanoTime();
    lastUpstreamNanos = now;
    lastClientNanos = now;
    armH2Timer(checkInterval());
    io.undertow.client.ClientRequest cr = H2Requests.build(ex.requestImpl(), endpoint,
        requestTarget != null ? requestTarget : ex.requestImpl().pathAndQuery(), extraHeaders);
    // H2Requests leaves out the framing fields; Undertow reads these two to know whether a body follows
    List<BodyTransformer> transformers = requestTransformers();
    boolean transformed = transformers != null && !transformers.isEmpty();
    boolean content = ex.requestImpl().hasBody() || transformed;
    if (content && !transformed && ex.requestImpl().contentLength() > 0) {
      cr.getRequestHeaders().put(Headers.CONTENT_LENGTH, ex.requestImpl().contentLength());
    } else if (content) {
      cr.getRequestHeaders().put(Headers.TRANSFER_ENCODING, "chunked"); // removed by Undertow before sending
    }
    int attempt = ++h2Attempt;
    session.sendRequest(cr, new io.undertow.client.ClientCallback<io.undertow.client.ClientExchange>() {
      @Override
      public void completed(io.undertow.client.ClientExchange exchange) {
        if (attempt != h2Attempt) {
          org.xnio.IoUtils.safeClose(exchange.getRequestChannel());
          return;
        }
        onH2Exchange(exchange, content, attempt);
      }

      @Override
      public void failed(IOException e) {
        if (!aborted && attempt == h2Attempt) {
          fail(new UpstreamResponseException("cannot open a stream to upstream " + endpoint + ": " + e.getMessage(), e));
        }
      }
    });
  }

  private void armH2Timer(long delayNanos) {
    h2Timer = thread.executeAfter(() -> {
      h2Timer = null;
      long next = checkTimeouts(System.nanoTime());
      if (next > 0 && h2Session != null) {
        armH2Timer(next);
      }
    }, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void onH2Exchange(io.undertow.client.ClientExchange exchange, boolean content, int attempt) {
    if (aborted) {
      org.xnio.IoUtils.safeClose(exchange.getRequestChannel());
      return;
    }
    requestBytesWritten = true; // the stream's head is on its way
    h2Sink = exchange.getRequestChannel();
    if (h2Sink instanceof io.undertow.protocols.http2.Http2StreamSinkChannel) {
      h2StreamId = ((io.undertow.protocols.http2.Http2StreamSinkChannel) h2Sink).getStreamId();
      h2Session.register(h2StreamId, this);
    }
    exchange.setResponseListener(new io.undertow.client.ClientCallback<io.undertow.client.ClientExchange>() {
      @Override
      public void completed(io.undertow.client.ClientExchange x) {
        if (attempt == h2Attempt) {
          onH2Response(x);
        } else {
          org.xnio.IoUtils.safeClose(x.getResponseChannel());
        }
      }

      @Override
      public void failed(IOException e) {
        if (attempt == h2Attempt) {
          onH2Failed(e); // not about a stream given up for a new one
        }
      }
    });
    if (aborted) {
      return; // the listener failed it already (the stream was reset at once)
    }
    if (content) {
      sender = new RequestSender(this, h2Sink, true);
      sender.start();
    } else {
      onRequestSent();
    }
  }

  private void onH2Failed(IOException e) {
    h2Reset = true;
    if (aborted || finished) {
      return;
    }
    if (response == null) {
      fail(new UpstreamResponseException("upstream " + endpoint + " reset the stream before sending a response ("
          + e.getMessage() + ")", e));
    } else if (streamer != null && streamer.started()) {
      streamer.upstreamFailed(new UpstreamResponseException("upstream " + endpoint
          + " reset the stream during the response body", e));
    }
    // else: the streamer, once started, reads the broken stream and fails then
  }

  private void onH2Response(io.undertow.client.ClientExchange x) {
    if (aborted || finished) {
      org.xnio.IoUtils.safeClose(x.getResponseChannel());
      return;
    }
    io.undertow.client.ClientResponse r = x.getResponse();
    int status = r.getResponseCode();
    HeaderMap target = hse.getResponseHeaders();
    BodyDecoder decoder;
    try {
      H2Requests.copyResponseHeaders(r.getResponseHeaders(), target, endpoint);
      decoder = ResponseFraming.http2(ex.requestImpl().method(), status, target);
    } catch (UpstreamResponseException e) {
      org.xnio.IoUtils.safeClose(x.getResponseChannel());
      fail(e);
      return;
    }
    h2Source = x.getResponseChannel();
    h2Source.getReadSetter().set(ch -> onReadable());
    h2Source.suspendReads();
    touch();
    PooledByteBuffer empty = hse.getConnection().getByteBufferPool().allocate();
    ByteBuffer rest = empty.getBuffer();
    rest.clear().limit(0);
    headArrived(new ResponseImpl(status, target, this, "HTTP/2.0"), new ResponseStreamer(this, decoder, empty, rest));
  }

  List<BodyTransformer> requestTransformers() {
    return ex.requestImpl().transformers();
  }

  @Override
  public String toString() {
    return "UpstreamCall(" + ex.request() + " -> " + endpoint + ")";
  }
}
