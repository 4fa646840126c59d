package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.ErrorHandler.Phase;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.ResponseImpl;
import dev.gatehouse.proxy.internal.http1.HttpDuties;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.internal.upstream.BodySource;
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
      response = errorResponse(ex, error, Phase.REQUEST);
    } else if (response == null) {
      IllegalStateException e = new IllegalStateException("the filter chain completed with a null response");
      log.error("{}: {}", ex, e.getMessage());
      response = errorResponse(ex, e, Phase.REQUEST);
    }
    ex.markResponded();
    ex.abortCallsExcept(ResponseImpl.call(response));
    commit(ex, response);
  }

  private static void abortUnused(ExchangeImpl ex, ProxyResponse response) {
    UpstreamCall call = response == null ? null : ResponseImpl.call(response);
    if (call != null) {
      call.abort();
    }
  }

  /** Called when an upstream body failed before anything reached the client. */
  void respondWithError(ExchangeImpl ex, Throwable error, Phase phase) {
    HttpServerExchange hse = ex.hse();
    if (hse.isResponseStarted()) {
      ex.abortClient(null);
      return;
    }
    hse.getResponseHeaders().clear();
    commit(ex, errorResponse(ex, ResponseRules.unwrap(error), phase));
  }

  private ProxyResponse errorResponse(ExchangeImpl ex, Throwable error, Phase phase) {
    int status = DefaultErrorHandler.statusFor(error, phase);
    Telemetry.failed(ex, error);
    if (status == 500) {
      log.error("{} failed", ex, error);
    } else {
      log.warn("{} -> {}: {}", ex, status, error.getMessage());
    }
    return ResponseRules.errorResponse(config.errorHandler(), ex, error, phase);
  }

  private void commit(ExchangeImpl ex, ProxyResponse r) {
    HttpServerExchange hse = ex.hse();
    HeaderMap in = ResponseImpl.headerMap(r);
    UpstreamCall call = ResponseImpl.call(r);
    String switchTo = call != null && call.upgraded() ? in.getFirst(Headers.UPGRADE) : null;
    if (call == null) {
      // A response the proxy makes itself may challenge for proxy credentials (407): that hop is ours.
      HttpDuties.stripHopByHop(in, Headers.PROXY_AUTHENTICATE);
    } else {
      HttpDuties.stripHopByHop(in);
    }
    HeaderMap out = hse.getResponseHeaders();
    if (in != out) {
      out.clear(); // an upstream response that was not chosen may have been parsed into it
      for (HeaderValues hv : in) {
        if (call == null && Headers.CONTENT_LENGTH.equals(hv.getHeaderName())) {
          continue; // a local body's length is the proxy's to set
        }
        out.putAll(hv.getHeaderName(), hv);
      }
    }
    hse.setStatusCode(r.status());
    ex.responseStatus(r.status());
    Telemetry.committed(ex, call != null);
    BodySource source = ResponseImpl.source(r);
    if (source != null) {
      // served by the proxy itself (a cache hit): still a forwarded message, so Via applies
      HttpDuties.addVia(out, ResponseImpl.protocol(r), config.via());
      SourceStreamer.start(ex, source, ResponseImpl.transformers(r));
      return;
    }
    if (call != null) {
      HttpDuties.addVia(out, ResponseImpl.protocol(r), config.via());
      if (call.upgraded()) {
        // 101: once the head is out, the client's connection and the upstream's are joined by a tunnel
        out.remove(Headers.CONTENT_LENGTH);
        out.remove(Headers.TRANSFER_ENCODING);
        call.upgradeCommitted();
        hse.upgradeChannel(switchTo != null ? switchTo : ex.upgrade(), (connection, x) -> call.startTunnel(connection));
        hse.endExchange();
        return;
      }
      call.streamResponse(ResponseImpl.transformers(r));
      return;
    }
    byte[] body = ResponseImpl.body(r);
    List<BodyTransformer> transformers = ResponseImpl.transformers(r);
    if (transformers != null && !transformers.isEmpty()) {
      try {
        body = transformLocal(body, transformers);
      } catch (RuntimeException e) {
        hse.getResponseHeaders().clear();
        ProxyResponse err = errorResponse(ex, e, Phase.RESPONSE);
        if (ResponseImpl.transformers(err) != null) {
          err = DefaultErrorHandler.INSTANCE.handle(ex, e, Phase.RESPONSE);
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
