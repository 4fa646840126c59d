package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.ResponseImpl;
import dev.gatehouse.proxy.internal.http1.HttpDuties;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.internal.upstream.SourceStreamer;
import dev.gatehouse.proxy.internal.upstream.UpstreamCall;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CancellationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the chain's outcome into the client's response: a failure through the error handler (logged,
 * never a stack trace to the client), the HTTP duties on the way out (hop-by-hop fields, {@code Via},
 * framing), then the body: an upstream's streamed, an upgraded connection handed to a tunnel, a body
 * the proxy serves itself (a cache hit) pulled from its source, or a local body sent whole. Upstream
 * calls the chain did not choose are given up.
 */
final class ResponseCommit {
  private static final Logger log = LoggerFactory.getLogger(ResponseCommit.class);

  private final CoreConfig config;

  ResponseCommit(CoreConfig config) {
    this.config = config;
  }

  /** Sends the chain's outcome to the client; on the I/O thread. */
  void respond(ExchangeImpl ex, ProxyResponse response, Throwable error) {
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
      error = ResponseRules.unwrap(error);
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
  void respondWithError(ExchangeImpl ex, Throwable error, boolean duringResponse) {
    HttpServerExchange hse = ex.hse();
    if (hse.isResponseStarted()) {
      ex.abortClient(null);
      return;
    }
    hse.getResponseHeaders().clear();
    commit(ex, asImpl(errorResponse(ex, ResponseRules.unwrap(error), duringResponse)));
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
}
