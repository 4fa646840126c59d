package dev.gatehouse.proxy.internal.h2;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.internal.exchange.RequestImpl;
import dev.gatehouse.proxy.internal.http1.BodyDecoder;
import dev.gatehouse.proxy.internal.http1.ResponseFraming;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.internal.upstream.ExchangeCodec;
import dev.gatehouse.proxy.internal.upstream.UpstreamCall;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.client.ClientResponse;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.protocols.http2.Http2StreamSinkChannel;
import io.undertow.protocols.http2.Http2StreamSourceChannel;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.ChannelListener;
import org.xnio.IoUtils;
import org.xnio.XnioExecutor;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * One stream of a multiplexed HTTP/2 connection to an upstream ({@link H2Sessions}): the head opens the
 * stream ({@link H2Requests}: {@code :authority} from {@code Host}, no hop-by-hop fields), the body
 * goes out as DATA frames and ends with the stream, the response head's fields are checked and
 * copied, and the body's end is the stream's. A stream the upstream's GOAWAY says it did not process
 * is sent again on a new connection when nothing of the response arrived and the body can be sent
 * again (RFC 9113 §6.8). The call's timeouts are checked by a timer per stream.
 */
public final class Http2ExchangeCodec implements ExchangeCodec, H2Sessions.Receiver, H2Sessions.Stream,
    ChannelListener<StreamSourceChannel> {
  private static final Logger log = LoggerFactory.getLogger(Http2ExchangeCodec.class);

  private final UpstreamCall call;
  private final H2Sessions sessions;
  private final HttpServerExchange hse;
  private final RequestImpl request;
  private final Endpoint endpoint;
  private H2Sessions.Session session;
  private StreamSinkChannel sink;
  private StreamSourceChannel source;
  /** The upstream reset the stream (its end is not a proper end). */
  private boolean reset;
  private XnioExecutor.Key timer;
  /** Counts the streams this call opened; callbacks of an earlier one are ignored. */
  private int attempt;
  /** The id of this call's stream on its connection, 0 when none is open. */
  private int streamId;

  public Http2ExchangeCodec(UpstreamCall call, H2Sessions sessions) {
    this.call = call;
    this.sessions = sessions;
    this.hse = call.exchange().hse();
    this.request = call.exchange().requestImpl();
    this.endpoint = call.endpoint();
  }

  @Override
  public void start() {
    sessions.acquire(hse.getIoThread(), hse.getConnection().getByteBufferPool(),
        call.timeouts().connectTimeoutMillis(), this);
  }

  @Override
  public void onHttp1Only() {
    call.useHttp1();
  }

  @Override
  public void onSessionFailure(RuntimeException failure) {
    call.connectFailed(failure);
  }

  @Override
  public void onSession(H2Sessions.Session s) {
    if (call.isAborted()) {
      s.end();
      return;
    }
    session = s;
    call.timeouts().transportReady();
    armTimer(call.timeouts().checkInterval());
    ClientRequest cr = H2Requests.build(request, endpoint, call.requestTarget(), call.extraFields());
    // H2Requests leaves out the framing fields; Undertow reads these two to know whether a body follows
    List<BodyTransformer> transformers = request.transformers();
    boolean transformed = transformers != null && !transformers.isEmpty();
    boolean content = request.hasBody() || transformed;
    if (content && !transformed && request.contentLength() > 0) {
      cr.getRequestHeaders().put(Headers.CONTENT_LENGTH, request.contentLength());
    } else if (content) {
      cr.getRequestHeaders().put(Headers.TRANSFER_ENCODING, "chunked"); // removed by Undertow before sending
    }
    int a = ++attempt;
    s.sendRequest(cr, new ClientCallback<ClientExchange>() {
      @Override
      public void completed(ClientExchange exchange) {
        if (a != attempt) {
          IoUtils.safeClose(exchange.getRequestChannel());
          return;
        }
        streamOpened(exchange, a);
      }

      @Override
      public void failed(IOException e) {
        if (!call.isAborted() && a == attempt) {
          call.fail(new UpstreamResponseException("cannot open a stream to upstream " + endpoint + ": "
              + e.getMessage(), e));
        }
      }
    });
  }

  private void armTimer(long delayNanos) {
    timer = hse.getIoThread().executeAfter(() -> {
      timer = null;
      long next = call.timeouts().checkTimeouts(System.nanoTime());
      if (next > 0 && session != null) {
        armTimer(next);
      }
    }, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void streamOpened(ClientExchange exchange, int a) {
    if (call.isAborted()) {
      IoUtils.safeClose(exchange.getRequestChannel());
      return;
    }
    call.onRequestBytesWritten(); // the stream's head is on its way
    sink = exchange.getRequestChannel();
    if (sink instanceof Http2StreamSinkChannel) {
      streamId = ((Http2StreamSinkChannel) sink).getStreamId();
      session.register(streamId, this);
    }
    exchange.setResponseListener(new ClientCallback<ClientExchange>() {
      @Override
      public void completed(ClientExchange x) {
        if (a == attempt) {
          responseHead(x);
        } else {
          IoUtils.safeClose(x.getResponseChannel());
        }
      }

      @Override
      public void failed(IOException e) {
        if (a == attempt) {
          streamFailed(e); // not about a stream given up for a new one
        }
      }
    });
    if (call.isAborted()) {
      return; // the listener failed it already (the stream was reset at once)
    }
    call.sendRequest();
  }

  private void streamFailed(IOException e) {
    reset = true;
    if (call.isOver()) {
      return;
    }
    if (!call.hasResponse()) {
      call.fail(new UpstreamResponseException("upstream " + endpoint + " reset the stream before sending a response ("
          + e.getMessage() + ")", e));
    } else {
      call.bodyFailed(new UpstreamResponseException("upstream " + endpoint
          + " reset the stream during the response body", e));
    }
  }

  private void responseHead(ClientExchange x) {
    if (call.isOver()) {
      IoUtils.safeClose(x.getResponseChannel());
      return;
    }
    if (x.getResponseChannel() instanceof Http2StreamSourceChannel stream && session != null) {
      Object parser = HeaderBlocks.pendingParser(session.channel(), stream);
      if (parser != null) {
        // handed on by Undertow before the CONTINUATION frames that complete the head: wait for them (the
        // read timeout still runs), with the stream's END_STREAM given back if the HEADERS frame had it
        HeaderBlocks.keepEndStream(parser, stream);
        int a = attempt;
        HeaderBlocks.await(session.channel(), parser, stream.getIoThread(), 0, () -> a != attempt || call.isOver(), () -> {
          if (a == attempt) {
            responseHead(x);
          }
        }, why -> { }); // given up or resent meanwhile: the read timeout or the new attempt took over
        return;
      }
    }
    ClientResponse r = x.getResponse();
    int status = r.getResponseCode();
    HeaderMap target = hse.getResponseHeaders();
    BodyDecoder decoder;
    try {
      H2Requests.copyResponseHeaders(r.getResponseHeaders(), target, endpoint);
      decoder = ResponseFraming.http2(request.method(), status, target);
    } catch (UpstreamResponseException e) {
      IoUtils.safeClose(x.getResponseChannel());
      call.fail(e);
      return;
    }
    source = x.getResponseChannel();
    source.getReadSetter().set(this);
    source.suspendReads();
    call.timeouts().touch();
    PooledByteBuffer empty = hse.getConnection().getByteBufferPool().allocate();
    ByteBuffer rest = empty.getBuffer();
    rest.clear().limit(0);
    call.headArrived(status, target, "HTTP/2.0", decoder, empty, rest);
  }

  /** The stream has body bytes (or ended). */
  @Override
  public void handleEvent(StreamSourceChannel channel) {
    if (!call.isOver() && source != null) {
      call.onBodyReadable();
    }
  }

  /**
   * The upstream's GOAWAY says this stream was not processed (RFC 9113 §6.8): sent again on a new
   * connection when nothing of the response arrived and the body can be sent again, whatever the method
   * (the upstream did not act on it); otherwise a 502 that says so.
   */
  @Override
  public void refusedByGoAway() {
    if (call.isOver()) {
      return;
    }
    if (call.mayResend()) {
      log.debug("{}: upstream {} will not process stream {} (GOAWAY); sending it on a new connection",
          call.exchange(), endpoint, streamId);
      call.prepareResend(true);
      attempt++; // what the old stream still reports is ignored
      IoUtils.safeClose(sink); // resets our side of the stream
      if (source != null) {
        source.getReadSetter().set(null);
        IoUtils.safeClose(source);
      }
      sink = null;
      source = null;
      reset = false;
      endStream();
      start();
      return;
    }
    reset = true;
    call.upstreamFailed(new UpstreamResponseException("upstream " + endpoint
        + " closed the HTTP/2 connection (GOAWAY) without processing the request"));
  }

  private void endStream() {
    if (timer != null) {
      timer.remove();
      timer = null;
    }
    H2Sessions.Session s = session;
    session = null;
    if (s != null) {
      if (streamId > 0) {
        s.unregister(streamId);
        streamId = 0;
      }
      s.end();
    }
  }

  // ---------------------------------------------------------------- request: the head went with the stream

  @Override
  public boolean queueHead(ArrayDeque<ByteBuffer> out, long contentLength, boolean keepExpect) {
    return false;
  }

  @Override
  public void queueChunk(ArrayDeque<ByteBuffer> out, ByteBuffer data) {
    throw new IllegalStateException("HTTP/2 has no chunked framing");
  }

  @Override
  public void queueLastChunk(ArrayDeque<ByteBuffer> out) {
    throw new IllegalStateException("HTTP/2 has no chunked framing");
  }

  @Override
  public void releaseHead() {
    // nothing held: the head went with the stream
  }

  @Override
  public void sendHeadOnly() {
    call.onRequestSent(); // the head opened the stream and ended it
  }

  @Override
  public boolean headBlocked() {
    return false;
  }

  @Override
  public StreamSinkChannel requestSink() {
    return sink;
  }

  @Override
  public boolean flushesWrites() {
    return true;
  }

  @Override
  public boolean endsBodyWithStream() {
    return true;
  }

  @Override
  public void writeFailed(IOException e) {
    if (!call.hasResponse()) {
      reset = true;
      call.fail(new UpstreamResponseException("upstream " + endpoint + " reset the stream while receiving the request",
          e));
    }
  }

  // ---------------------------------------------------------------- response body and endings

  @Override
  public StreamSourceChannel responseSource() {
    return source;
  }

  @Override
  public boolean framedSource() {
    return true;
  }

  @Override
  public boolean hasSource() {
    return source != null && session != null;
  }

  @Override
  public boolean cleanEnd() {
    return !reset;
  }

  @Override
  public void dontReuse() {
    // a stream is never reused
  }

  @Override
  public void responseComplete(boolean requestUnfinished) {
    if (requestUnfinished) {
      IoUtils.safeClose(sink);
    }
    source.getReadSetter().set(null);
    endStream();
  }

  @Override
  public void cancel() {
    if (session != null) {
      // closing an unfinished stream resets it (RST_STREAM): the upstream stops working on it
      IoUtils.safeClose(sink);
      IoUtils.safeClose(source);
      endStream();
    }
  }
}
