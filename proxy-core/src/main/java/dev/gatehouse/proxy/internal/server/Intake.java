package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.FilterChain;
import dev.gatehouse.proxy.internal.exchange.RequestImpl;
import dev.gatehouse.proxy.internal.http1.Http;
import dev.gatehouse.proxy.internal.http1.HttpDuties;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.spi.Terminal;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpServerConnection;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import io.undertow.util.Protocols;
import io.undertow.util.SameThreadExecutor;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.ChannelListener;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * The listener's handler: every request goes through here. It validates the head ({@link
 * RequestValidator}: a refusal is answered at once and the connection closed), puts the strict body
 * conduits under the request, makes the {@link ExchangeImpl}, applies the HTTP duties on the way in
 * (hop-by-hop fields, {@code Max-Forwards}, {@code X-Forwarded-*}/{@code Forwarded}, {@code Via}), and
 * runs the filter chain and the terminal; the outcome goes to {@link ResponseCommit}.
 */
final class Intake implements HttpHandler {
  private static final Logger log = LoggerFactory.getLogger(Intake.class);

  private final Engine engine;
  private final CoreConfig config;
  private final Terminal terminal;
  private final RequestValidator validator;
  private final ResponseCommit commit;

  Intake(Engine engine, Terminal terminal, ResponseCommit commit) {
    this.engine = engine;
    this.config = engine.config();
    this.terminal = terminal;
    this.validator = new RequestValidator(config);
    this.commit = commit;
  }

  /** Handles one request of the listener (or of a connection served outside it); on the I/O thread. */
  @Override
  public void handleRequest(HttpServerExchange hse) {
    if (SplitHeaderBlocks.deferIfIncomplete(hse, config.requestHeaderTimeout().toMillis(), this)) {
      return; // HTTP/2, dispatched by Undertow before the CONTINUATION frames that complete its fields arrived
    }
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
    ExchangeImpl ex = new ExchangeImpl(engine, hse, request, start);
    hse.addExchangeCompleteListener((x, next) -> {
      ex.finish();
      if (ex.responseStatus() == 0) {
        ex.responseStatus(x.getStatusCode());
      }
      if (!ex.completionDeferred()) {
        engine.telemetry().exchangeEnded(ex);
      }
      next.proceed();
    });
    if (rejection == null && hse.getAttachment(ClientGate.OVER_LIMIT) != null) {
      rejection = new RequestValidator.Rejection(503, "Service Unavailable: too many requests in flight");
      engine.telemetry().limitReached(hse.getSourceAddress(), ClientLimits.EXCHANGES);
    }
    if (rejection != null) {
      ex.responseStatus(rejection.status());
      reject(hse, rejection.status(), rejection.reason()); // the access log still sees it
      return;
    }

    ex.captureHopByHop(headers.getFirst(Headers.PROXY_AUTHORIZATION), upgradeRequested(headers));
    // Upgrade stays visible to filters (a WebSocket handshake is recognisable); it is never forwarded as
    // it is: the upstream call adds its own Upgrade and Connection fields when it passes the upgrade on.
    HttpDuties.stripHopByHop(headers, Headers.UPGRADE);
    if (MaxForwards.answered(ex)) {
      return;
    }
    String host = authority != null ? authority : headers.getFirst(Headers.HOST);
    ex.realClientIp(HttpDuties.applyForwarded(headers, config.forwardedHeaders(), config.trustedProxies(),
        hse.getSourceAddress().getAddress(), hse.getRequestScheme(), host));
    HttpDuties.addVia(headers, hse.getProtocol().toString(), config.via());
    keepReadInterest(hse, ex);
    hse.dispatch(SameThreadExecutor.INSTANCE, () -> runChain(ex));
  }

  /** Parks a client connection's reads: the first read event during the exchange suspends them again. */
  private static final ChannelListener<ConduitStreamSourceChannel> PARK = ConduitStreamSourceChannel::suspendReads;

  /**
   * Undertow suspends a keep-alive connection's reads when it has read a request without a body, and
   * resumes them when the exchange completes: two {@code epoll_ctl} calls per request, because the
   * selector applies each change at its next {@code select}. Resuming them at once, in the same I/O
   * round as the suspension, cancels the first change and with it the second (the interest never
   * changes), with a listener that does what the suspension did if anything arrives meanwhile (a
   * pipelined request, or the client closing): it suspends reads, and Undertow reads that data when
   * the exchange completes, as before. Only for HTTP/1.1 requests that are complete (no body to read),
   * with no bytes already buffered, and neither CONNECT nor an upgrade. Over TLS the socket under
   * Undertow's SSL conduit is resumed instead (resuming the conduit itself would run its read listener
   * at once, a queued task per request): see {@link TlsReadInterest}.
   */
  private static void keepReadInterest(HttpServerExchange hse, ExchangeImpl ex) {
    if (!hse.isRequestComplete() || !(hse.getConnection() instanceof HttpServerConnection c)
        || c.getExtraBytes() != null || !hse.isPersistent()
        || Methods.CONNECT.equals(hse.getRequestMethod()) || ex.upgrade() != null) {
      return;
    }
    if (c.getSslSessionInfo() != null) {
      TlsReadInterest.keep(c);
      return;
    }
    ConduitStreamSourceChannel source = c.getChannel().getSourceChannel();
    source.setReadListener(PARK);
    source.resumeReads();
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
        commit.respond(ex, response, error);
      } else {
        ex.ioThread().execute(() -> commit.respond(ex, response, error));
      }
    });
  }

  private CompletionStage<ProxyResponse> terminal(ExchangeImpl ex) {
    CompletionStage<ProxyResponse> s = terminal.handle(ex);
    return s != null ? s : CompletableFuture.failedFuture(new IllegalStateException("terminal returned null"));
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
}
