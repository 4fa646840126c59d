package dev.gatehouse.proxy.internal.upstream;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.ErrorHandler;
import dev.gatehouse.proxy.MalformedRequestException;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.ResponseImpl;
import dev.gatehouse.proxy.internal.h2.H2Sessions;
import dev.gatehouse.proxy.internal.h2.Http2ExchangeCodec;
import dev.gatehouse.proxy.internal.http1.BodyDecoder;
import dev.gatehouse.proxy.internal.http1.Http1ExchangeCodec;
import dev.gatehouse.proxy.internal.http1.RequestHead;
import dev.gatehouse.proxy.internal.observe.ObservedAttempt;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.internal.pool.HostPool;
import dev.gatehouse.proxy.internal.pool.UpstreamConnection;
import dev.gatehouse.proxy.internal.server.CoreConfig;
import dev.gatehouse.proxy.internal.server.RejectedBody;
import dev.gatehouse.proxy.spi.CallListener;
import dev.gatehouse.proxy.spi.CallOptions;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.HeaderField;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.StreamConnection;
import org.xnio.XnioIoThread;

/**
 * One request/response exchange with an upstream: its state and its endings. The wire protocol is its
 * {@link ExchangeCodec} (HTTP/1.1 on a pooled connection, or a stream of an HTTP/2 connection); its
 * clocks are {@link CallTimeouts}; {@code Expect: 100-continue} and the hand-off of an upgraded
 * connection are {@link ExpectContinue} and {@link UpgradeHandoff}, made only when needed. The request
 * body goes out through a {@link BodyPump}, the response body through a {@link ResponseStreamer}.
 * Everything runs on the client exchange's I/O thread, so no state here is shared.
 *
 * <p>The response stage completes once, with the head or with why there is none; the {@link
 * CallListener} and telemetry hear of the end exactly once ({@link #ended}), whichever way it comes:
 * the body read completely, a failure before or after the head, or the call given up.
 *
 * <p>Why one class of this size: it is the one owner of the call's state. The codec, the clocks, the pump,
 * the streamer and the hand-off never touch each other's state; they report here, each through a small named
 * method, and the split added no object per request on the hot path.
 */
public final class UpstreamCall implements dev.gatehouse.proxy.spi.UpstreamCall {
  private static final Logger log = LoggerFactory.getLogger(UpstreamCall.class);

  final ExchangeImpl ex;
  final HttpServerExchange hse;
  private final Endpoint endpoint;
  private final HostPool pool;
  private final CoreConfig config;
  private final XnioIoThread thread;
  private final CompletableFuture<ProxyResponse> result = new CompletableFuture<>();
  private final CallOptions options;
  private final CallListener listener;
  private final CallTimeouts timeouts;
  /** Request-target to send, or null for the request's path and query. */
  private final String requestTarget;
  private final List<HeaderField> extraFields;
  /** The request asks the upstream to switch protocols ({@code Upgrade}); a 101 is then accepted. */
  private final boolean upgradeRequested;
  private ExchangeCodec codec;
  private ObservedAttempt observed;
  private boolean ended;
  /** Whether any byte of this request reached the upstream's socket (so it may have acted on it). */
  private boolean requestBytesWritten;
  private boolean requestSent;
  private boolean bodyConsumed;
  /** The request was sent again once (a dead pooled connection, a stream refused by GOAWAY). */
  private boolean resent;
  /** Given up: transport closed, buffers released. */
  private boolean aborted;
  /** The response was read completely and the transport went back. */
  private boolean finished;
  /** The client left mid-body and the body is read on without it (see {@link #detachFromClient()}). */
  private boolean detachedFromClient;
  private BodyPump pump;
  private ExpectContinue expect;
  private UpgradeHandoff upgrade;
  private ProxyResponse response;
  private ResponseStreamer streamer;

  /**
   * A call of {@code ex} to {@code endpoint} through {@code pool}.
   *
   * @param requestTarget the request-target to send, or null for the request's path and query
   * @param extraFields fields appended to the head (a parent proxy's credentials)
   * @param upgrade the client's {@code Upgrade} to pass on (a 101 is then accepted), or null for none
   */
  public UpstreamCall(ExchangeImpl ex, Endpoint endpoint, HostPool pool, String requestTarget,
      List<HeaderField> extraFields, String upgrade, CallOptions options) {
    this.options = options;
    this.listener = options.listener();
    this.upgradeRequested = upgrade != null;
    this.requestTarget = requestTarget;
    this.extraFields = upgrade == null ? extraFields
        : List.of(new HeaderField("Connection", "Upgrade"), new HeaderField("Upgrade", upgrade));
    this.ex = ex;
    this.hse = ex.hse();
    this.endpoint = endpoint;
    this.pool = pool;
    this.config = ex.engine().config();
    this.thread = hse.getIoThread();
    this.timeouts = new CallTimeouts(this, thread, this.options, config);
  }

  @Override
  public CompletionStage<ProxyResponse> response() {
    return result;
  }

  @Override
  public boolean requestBytesWritten() {
    return requestBytesWritten;
  }

  @Override
  public Endpoint endpoint() {
    return endpoint;
  }

  /** The exchange this call is for. */
  public ExchangeImpl exchange() {
    return ex;
  }

  /** The pool of connections to the endpoint. */
  public HostPool pool() {
    return pool;
  }

  /** The request-target sent upstream: the one given, or the request's path and query. */
  public String requestTarget() {
    return requestTarget != null ? requestTarget : ex.requestImpl().pathAndQuery();
  }

  /** Fields appended to the head (an upgrade's, a parent proxy's credentials). */
  public List<HeaderField> extraFields() {
    return extraFields;
  }

  /** Whether the request asks the upstream to switch protocols (so a 101 is accepted). */
  public boolean upgradeRequested() {
    return upgradeRequested;
  }

  /** The call's clocks. */
  public CallTimeouts timeouts() {
    return timeouts;
  }

  /** Starts the call: checks the head, takes the body, starts the clocks, and lets a codec get a transport. */
  public CompletionStage<ProxyResponse> start() {
    observed = Telemetry.attemptStarted(ex, endpoint);
    String unsafe = RequestHead.unsafeHead(ex.requestImpl(), requestTarget(), extraFields);
    if (unsafe != null) {
      // every path into here validates; this refuses what a future one might let through
      IllegalStateException e = new IllegalStateException("refusing to send a malformed request head upstream: "
          + unsafe);
      ended(e);
      result.completeExceptionally(e);
      return result;
    }
    if (ex.requestImpl().hasBody() && !ex.requestBody().claim()) {
      ended(new IllegalStateException("the request body was already sent to another upstream and was not "
          + "buffered for a retry; it can be sent once"));
      result.completeExceptionally(new IllegalStateException(
          "the request body was already sent to another upstream; it can be sent once"));
      return result;
    }
    timeouts.start();
    H2Sessions h2 = pool.h2();
    codec = h2 != null && !h2.http1Only() && !upgradeRequested ? new Http2ExchangeCodec(this, h2)
        : new Http1ExchangeCodec(this);
    codec.start();
    return result;
  }

  /** The upstream declined HTTP/2 (ALPN): the request goes over HTTP/1.1 instead. */
  public void useHttp1() {
    if (!aborted) {
      codec = new Http1ExchangeCodec(this);
      codec.start();
    }
  }

  /** No transport: the connection (or the wait for one) failed. */
  public void connectFailed(RuntimeException failure) {
    if (!aborted) {
      log.debug("{}: {}", ex, failure.getMessage());
      fail(failure);
    }
  }

  // ---------------------------------------------------------------- request

  /** The codec's transport is ready for the request: the body pump, or the head alone. */
  public void sendRequest() {
    List<BodyTransformer> t = ex.requestImpl().transformers();
    if (ex.requestImpl().hasBody() || (t != null && !t.isEmpty())) {
      pump = new BodyPump(this, codec, ex, config.maxRequestBodySize());
      pump.start();
    } else {
      codec.sendHeadOnly();
    }
  }

  /** The body pump, or null. */
  BodyPump pump() {
    return pump;
  }

  /** The request's {@code Expect: 100-continue} handling (made on first use). */
  ExpectContinue expectContinue() {
    if (expect == null) {
      expect = new ExpectContinue(this, hse);
    }
    return expect;
  }

  /** The upstream sent {@code 100 Continue}. */
  public void onContinue() {
    if (expect != null) {
      expect.onContinue();
    }
  }

  /** Request bytes reached the upstream's socket. */
  public void onRequestBytesWritten() {
    requestBytesWritten = true;
  }

  /** The request is all out. */
  public void onRequestSent() {
    requestSent = true;
    timeouts.touch();
  }

  /** Some of the client's body was read: the request can no longer be sent again from the start. */
  void onBodyConsumed() {
    bodyConsumed = true;
  }

  /** Writing to the upstream failed; the codec decides whether it still answers, or the call is retried. */
  public void upstreamWriteFailed(IOException e) {
    if (!aborted) {
      codec.writeFailed(e);
    }
  }

  /** The client's body could not be read: malformed chunked framing, or the client went away. */
  void onClientBodyFailed(IOException e) {
    if (aborted) {
      return;
    }
    hse.setPersistent(false);
    // Close the upstream connection mid-request, so the upstream never sees a complete request.
    fail(new MalformedRequestException("malformed or incomplete request body", e));
  }

  /** The request body went over a limit (maxRequestBodySize, or an aggregate transformer). */
  void onRequestBodyRejected(RuntimeException e) {
    if (aborted) {
      return;
    }
    RejectedBody.discardAfterAnswer(hse); // the rest of the body is read, not reset away with the answer
    fail(e);
  }

  /**
   * Whether the request may be sent again on a new transport: the first one failed before anything of
   * the response arrived (a dead pooled connection, a stream refused by GOAWAY), no byte of the client's
   * body is gone, and it was not sent again already.
   */
  public boolean mayResend() {
    return response == null && !bodyConsumed && !resent;
  }

  /**
   * Prepares sending the request again on a new transport: the pump and the {@code 100 Continue} wait
   * start over. With {@code unwritten} the first transport is known not to have taken the request.
   */
  public void prepareResend(boolean unwritten) {
    resent = true;
    if (pump != null) {
      pump.stop();
      pump = null;
    }
    if (expect != null) {
      expect.reset();
    }
    if (unwritten) {
      requestBytesWritten = false;
    }
    requestSent = false;
  }

  // ---------------------------------------------------------------- response

  /** Whether the response head has arrived (a final one, or a 101). */
  public boolean hasResponse() {
    return response != null;
  }

  /**
   * A final response head arrived: if the proxy still waited for {@code 100 Continue}, the upstream
   * refused the body, and returns true (the rest of the request is abandoned, so neither side can be
   * reused).
   */
  public boolean finalHeadRefusedBody() {
    if (expect == null || !expect.refusedBy()) {
      return false;
    }
    hse.setPersistent(false);
    if (pump != null) {
      pump.stop();
    }
    return true;
  }

  /**
   * The final response head is in: the try timeout stops, listeners hear of it, the stage completes.
   *
   * @param head the pooled buffer the head was read into, which holds the first body bytes
   * @param rest those bytes within it
   */
  public void headArrived(int status, HeaderMap headers, String protocol, BodyDecoder decoder,
      PooledByteBuffer head, ByteBuffer rest) {
    ProxyResponse r = ResponseImpl.upstream(status, headers, this, protocol);
    response = r;
    streamer = new ResponseStreamer(this, codec, ex, decoder, head, rest, config.responseBufferSize(),
        ex.engine().bufferBudget());
    timeouts.headArrived();
    completeHead(r);
  }

  /**
   * The upstream switched protocols: the 101 is handed out; {@code connection} (out of the pool's hands)
   * waits for the client's side, to be joined in a tunnel.
   */
  public void upgraded(HeaderMap headers, String protocol, UpstreamConnection connection,
      ByteBuffer rest) {
    upgrade = new UpgradeHandoff(this, ex, connection, rest);
    timeouts.cancelDeadline();
    ProxyResponse r = ResponseImpl.upstream(101, headers, this, protocol);
    response = r;
    completeHead(r);
  }

  private void completeHead(ProxyResponse r) {
    if (listener != null) {
      try {
        listener.onResponseHead(r.status());
      } catch (RuntimeException e) {
        log.warn("call listener failed", e);
      }
    }
    result.complete(r);
  }

  /** Whether the upstream switched protocols (the response is a 101 to be answered with a tunnel). */
  public boolean upgraded() {
    return upgrade != null;
  }

  /** The 101 is being sent to the client; see {@link UpgradeHandoff#committed()}. */
  public void upgradeCommitted() {
    upgrade.committed();
  }

  /** Joins the client's connection and the upstream's in a tunnel; see {@link UpgradeHandoff#startTunnel}. */
  public void startTunnel(StreamConnection client) {
    long idleMillis = timeouts.readTimeoutNanos() > 0 ? timeouts.readTimeoutNanos() / 1_000_000
        : config.idleTimeout().toMillis();
    upgrade.startTunnel(client, idleMillis);
  }

  /** The upgraded connection's tunnel ended: so does the call. */
  void tunnelEnded(Throwable error) {
    ended(error);
  }

  /** Streams the response body to the client through {@code transformers}, after its head was committed. */
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

  /** The upstream has bytes after the head: the body streamer reads them, if it runs. */
  public void onBodyReadable() {
    if (streamer != null && streamer.started()) {
      streamer.onUpstreamReadable();
    } else {
      // the upstream sent something (or closed) after a complete response, before it was streamed
      codec.dontReuse();
      codec.responseSource().suspendReads();
    }
  }

  // ---------------------------------------------------------------- what the clocks ask

  /** Whether the call is over: given up, or the response read completely. */
  public boolean isOver() {
    return aborted || finished;
  }

  /** Whether the call was given up. */
  public boolean isAborted() {
    return aborted;
  }

  /** Whether the proxy waits for the upstream to take request bytes (the write timeout applies). */
  boolean writingRequest() {
    return response == null && (pump != null ? pump.blockedOnUpstream() : codec != null && codec.headBlocked());
  }

  /** Whether the proxy is waiting on the upstream (not on the client, nor on filters). */
  boolean waitingForUpstream() {
    if (response == null) {
      return requestSent || (expect != null && expect.awaiting()) || writingRequest();
    }
    return streamer != null && streamer.waitingForUpstream();
  }

  /** Whether the proxy is waiting on the client: body bytes to read, or room to write. */
  boolean waitingForClient() {
    return (pump != null && pump.waitingForClient()) || (streamer != null && streamer.waitingForClient());
  }

  /** The upstream took too long (read, write, try or total timeout). */
  void upstreamTimedOut(RuntimeException e) {
    if (streamer != null && streamer.started()) {
      streamer.upstreamFailed(e);
    } else {
      codec.dontReuse();
      fail(e);
    }
  }

  /** The client neither sent nor read anything for idleTimeout. */
  void clientTimedOut(RuntimeException e) {
    hse.setPersistent(false);
    if (streamer != null && streamer.started()) {
      streamer.clientTimedOut(e);
    } else {
      codec.dontReuse();
      fail(e);
    }
  }

  /**
   * The upstream failed mid-body (a reset stream): the streaming fails if it runs; a streamer not
   * started yet finds the broken stream when it starts.
   */
  public void bodyFailed(RuntimeException e) {
    if (streamer != null && streamer.started()) {
      streamer.upstreamFailed(e);
    }
  }

  /** The upstream failed (a GOAWAY that refused the stream): the streaming, or the call before the head. */
  public void upstreamFailed(RuntimeException e) {
    if (streamer != null && streamer.started()) {
      streamer.upstreamFailed(e);
    } else {
      fail(e);
    }
  }

  // ---------------------------------------------------------------- endings

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

  /** The response body was read completely: the transport goes back. */
  void onResponseComplete() {
    if (finished || aborted) {
      return;
    }
    finished = true;
    timeouts.cancelDeadline();
    ended(null);
    boolean unfinished = pump != null ? !pump.isDone() : !requestSent;
    if (unfinished) {
      hse.setPersistent(false); // the upstream answered before the whole request was sent
      if (pump != null) {
        pump.stop();
      }
    }
    codec.responseComplete(unfinished);
  }

  /** Fails the call before the response head was handed out: the error handler answers the client. */
  public void fail(Throwable e) {
    if (aborted || finished) {
      return;
    }
    cleanup();
    ended(e);
    if (!result.isDone()) {
      result.completeExceptionally(e);
    }
  }

  /** Gives up after the head was handed out, telling the listener why (the upgraded connection's wait). */
  void giveUp(Throwable why) {
    cleanup();
    ended(why);
  }

  /**
   * The body failed before anything was sent to the client (a transformer held it): the error handler
   * still gets to answer.
   */
  void failStreaming(RuntimeException e) {
    if (!finished) {
      codec.dontReuse();
      cleanup();
      ended(e);
    }
    ex.engine().respondWithError(ex, e, ErrorHandler.Phase.RESPONSE);
  }

  /** The body failed after the response started; the streamer closes the client side. */
  void abortStreaming(RuntimeException e) {
    log.debug("{}: response aborted: {}", ex, e.getMessage());
    if (!finished && !aborted) {
      codec.dontReuse();
      ResponseStreamer s = streamer;
      streamer = null; // it still drains what it holds to the client
      cleanup();
      streamer = s;
      ended(e);
    }
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
    hse.setPersistent(false);
    abort();
  }

  /** Gives up silently: the exchange ended or chose another response. */
  @Override
  public void abort() {
    if (aborted || finished || (upgrade != null && upgrade.holdsCall()) || detachedFromClient) {
      return;
    }
    if (streamer != null && streamer.started() && streamer.continueWithoutClient()) {
      return; // the client's exchange ended mid-body, but the body is still wanted (a cache stores it)
    }
    cleanup();
    CancellationException c = new CancellationException("upstream call aborted");
    ended(c);
    if (!result.isDone()) {
      result.completeExceptionally(c);
    }
  }

  private void cleanup() {
    aborted = true;
    timeouts.cancelDeadline();
    if (expect != null) {
      expect.cancelTimer();
    }
    if (pump != null) {
      pump.stop();
    }
    if (streamer != null) {
      streamer.release();
    }
    if (upgrade != null) {
      upgrade.release();
    }
    if (codec != null) {
      codec.cancel();
    }
  }

  @Override
  public String toString() {
    return "UpstreamCall(" + ex.request() + " -> " + endpoint + ")";
  }
}
