package dev.gatehouse.proxy.internal.http1;

import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.internal.exchange.RequestImpl;
import dev.gatehouse.proxy.internal.pool.HostPool;
import dev.gatehouse.proxy.internal.pool.UpstreamConnection;
import dev.gatehouse.proxy.internal.server.InterimResponses;
import dev.gatehouse.proxy.internal.upstream.ExchangeCodec;
import dev.gatehouse.proxy.internal.upstream.UpstreamCall;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.HeaderField;
import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.ChannelListener;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * HTTP/1.1 to an upstream over a pooled keep-alive connection: takes a connection from the {@link
 * HostPool}, writes the head ({@link RequestHead}) and the body's framing ({@code Content-Length} or
 * chunked), reads interim and final response heads with the strict {@link ResponseHeadParser} (100
 * Continue, 1xx passed on, 101 for an upgrade), and gives the connection back, or closes it when it
 * cannot be trusted with another request. A pooled connection that turns out to be dead (the upstream
 * closed it while idle) is replaced once, as long as no byte of the response arrived and no byte of
 * the client's body is gone: the request never reached the upstream. It is the connection's read
 * listener itself.
 *
 * <p>Why one class of this size: one object carries one connection through the whole HTTP/1.1 exchange
 * (acquire, head, framing, response head, retry, upgrade, release); splitting it would add objects per
 * request on the hot path.
 */
public final class Http1ExchangeCodec implements ExchangeCodec, HostPool.Acquirer,
    ChannelListener<ConduitStreamSourceChannel> {
  private static final Logger log = LoggerFactory.getLogger(Http1ExchangeCodec.class);

  private final UpstreamCall call;
  private final HttpServerExchange hse;
  private final RequestImpl request;
  private final Endpoint endpoint;
  private final HostPool pool;
  private final ByteBufferPool buffers;
  private final ResponseHeadParser parser = new ResponseHeadParser();
  private HostPool.Waiter waiter;
  private UpstreamConnection conn;
  private boolean reused;
  private PooledByteBuffer readBuffer;
  private boolean responseBytesSeen;
  /** The pooled buffer the head was written into, until it is written. */
  private PooledByteBuffer headBuffer;
  /** The head of a request without a body, while it is being written. */
  private ByteBuffer headOnly;
  private boolean headBlocked;

  public Http1ExchangeCodec(UpstreamCall call) {
    this.call = call;
    this.hse = call.exchange().hse();
    this.request = call.exchange().requestImpl();
    this.endpoint = call.endpoint();
    this.pool = call.pool();
    this.buffers = hse.getConnection().getByteBufferPool();
    // the final response's fields are parsed straight into the exchange's map: no copy at commit
    parser.finalTarget(hse.getResponseHeaders());
  }

  @Override
  public void start() {
    waiter = pool.acquire(hse.getIoThread(), this);
  }

  // ---------------------------------------------------------------- connection

  @Override
  public long connectTimeoutMillis() {
    return call.timeouts().connectTimeoutMillis();
  }

  @Override
  public void onConnection(UpstreamConnection c, boolean reused) {
    waiter = null;
    if (call.isAborted()) {
      pool.release(c);
      return;
    }
    this.conn = c;
    this.reused = reused;
    c.use(call.timeouts());
    call.timeouts().transportReady();
    c.ensureTimer(call.timeouts().checkInterval());
    c.source().getReadSetter().set(this);
    c.source().resumeReads();
    call.sendRequest();
  }

  @Override
  public void onConnectFailure(RuntimeException failure) {
    waiter = null;
    call.connectFailed(failure);
  }

  // ---------------------------------------------------------------- request

  @Override
  public boolean queueHead(ArrayDeque<ByteBuffer> out, long contentLength, boolean keepExpect) {
    out.add(head(contentLength, keepExpect));
    return true;
  }

  /** The head in a pooled buffer when it fits (returned once written), else in a buffer of its own. */
  private ByteBuffer head(long contentLength, boolean keepExpect) {
    boolean closeAfter = pool.maxIdle() == 0 && !call.upgradeRequested();
    String target = call.requestTarget();
    List<HeaderField> extra = call.extraFields();
    PooledByteBuffer pooled = buffers.allocate();
    ByteBuffer b = pooled.getBuffer();
    b.clear();
    if (RequestHead.writeTo(b, request, endpoint, target, contentLength, keepExpect, closeAfter, extra)) {
      b.flip();
      headBuffer = pooled;
      return b;
    }
    pooled.close();
    return RequestHead.write(request, endpoint, target, contentLength, keepExpect, closeAfter, extra);
  }

  @Override
  public void queueChunk(ArrayDeque<ByteBuffer> out, ByteBuffer data) {
    ChunkedEncoder.chunk(out, data);
  }

  @Override
  public void queueLastChunk(ArrayDeque<ByteBuffer> out) {
    ChunkedEncoder.last(out);
  }

  @Override
  public void releaseHead() {
    if (headBuffer != null) {
      headBuffer.close();
      headBuffer = null;
    }
  }

  @Override
  public void sendHeadOnly() {
    headOnly = head(request.headerMap().contains("Content-Length") ? 0 : -2, false);
    writeHeadOnly();
  }

  private void writeHeadOnly() {
    if (headOnly == null || conn == null) {
      return;
    }
    StreamSinkChannel sink = conn.sink();
    try {
      while (headOnly.hasRemaining()) {
        if (sink.write(headOnly) == 0) {
          waitForWritable(sink);
          return;
        }
        call.onRequestBytesWritten();
        call.timeouts().touch();
      }
      if (!sink.flush()) {
        waitForWritable(sink);
        return;
      }
    } catch (IOException e) {
      stopHeadOnly();
      call.upstreamWriteFailed(e);
      return;
    }
    stopHeadOnly();
    call.onRequestSent();
  }

  /** The upstream takes no more for now (rare: a head is small): go on when it is writable. */
  private void waitForWritable(StreamSinkChannel sink) {
    headBlocked = true;
    sink.getWriteSetter().set(ch -> writeHeadOnly());
    sink.resumeWrites();
  }

  private void stopHeadOnly() {
    headOnly = null;
    releaseHead();
    if (headBlocked) {
      headBlocked = false;
      StreamSinkChannel sink = conn.sink();
      if (sink.isOpen()) {
        sink.suspendWrites();
        sink.getWriteSetter().set(null);
      }
    }
  }

  @Override
  public boolean headBlocked() {
    return headBlocked;
  }

  @Override
  public StreamSinkChannel requestSink() {
    return conn.sink();
  }

  @Override
  public boolean flushesWrites() {
    return false;
  }

  @Override
  public boolean endsBodyWithStream() {
    return false;
  }

  /** Writing failed. The upstream may still have answered (e.g. 413, then closed): read first. */
  @Override
  public void writeFailed(IOException e) {
    conn.dontReuse();
    if (reused && !responseBytesSeen && call.mayResend()) {
      retry(e);
      return;
    }
    if (!call.hasResponse()) {
      handleEvent(conn.source());
      if (!call.isAborted() && !call.hasResponse() && !parser.hasPartialData()) {
        call.fail(new UpstreamResponseException("upstream " + endpoint
            + " closed the connection while receiving the request", e));
      }
    }
  }

  // ---------------------------------------------------------------- response head

  /** The connection is readable: the response head, or (once it is in) the body. */
  @Override
  public void handleEvent(ConduitStreamSourceChannel channel) {
    if (call.isOver() || conn == null) {
      return;
    }
    if (call.hasResponse()) {
      call.onBodyReadable();
      return;
    }
    for (;;) {
      if (readBuffer == null) {
        readBuffer = buffers.allocate();
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
      call.timeouts().touch();
      b.flip();
      try {
        while (parser.feed(b)) {
          int status = parser.status();
          if (status == 100) {
            call.onContinue();
            parser.reset();
          } else if (status == 101) {
            if (!call.upgradeRequested()) {
              throw new UpstreamResponseException("upstream switched protocols without being asked");
            }
            upgraded(b);
            return;
          } else if (status < 200) {
            InterimResponses.forward(hse, status, parser.reason(), parser.headers());
            parser.reset();
          } else {
            finalHead(b);
            return;
          }
        }
      } catch (UpstreamResponseException e) {
        conn.dontReuse();
        call.fail(e);
        return;
      }
    }
  }

  private void headFailed(IOException e) {
    if (call.isAborted()) {
      return;
    }
    conn.dontReuse();
    if (reused && !responseBytesSeen && call.mayResend()) {
      retry(e);
      return;
    }
    String what = e == null ? "closed the connection" : "reset the connection (" + e.getMessage() + ")";
    call.fail(new UpstreamResponseException("upstream " + endpoint + " " + what + " before sending a response", e));
  }

  /** The pooled connection was dead: the request goes again on a new one. */
  private void retry(IOException cause) {
    log.debug("{}: pooled connection to {} was dead ({}); retrying on a new one", call.exchange(), endpoint,
        cause == null ? "closed" : cause.toString());
    call.prepareResend(false);
    headOnly = null;
    headBlocked = false;
    releaseHead();
    UpstreamConnection dead = conn;
    conn = null;
    dead.use(null);
    dead.close();
    parser.reset();
    waiter = pool.acquire(hse.getIoThread(), this);
  }

  /** The upstream agreed to switch protocols: the connection leaves the pool's hands for the tunnel. */
  private void upgraded(ByteBuffer rest) {
    UpstreamConnection c = conn;
    conn = null;
    c.use(null);
    c.dontReuse();
    c.source().suspendReads();
    c.source().getReadSetter().set(null);
    call.upgraded(parser.headers(), parser.protocol(), c, rest);
    if (readBuffer != null) {
      readBuffer.close();
      readBuffer = null;
    }
  }

  private void finalHead(ByteBuffer rest) {
    int status = parser.status();
    HeaderMap headers = parser.headers();
    if (call.finalHeadRefusedBody()) {
      conn.dontReuse();
    }
    BodyDecoder decoder = ResponseFraming.http1(request.method(), status, headers);
    if (decoder.endsAtClose() || !ResponseFraming.keepAlive(headers, parser.protocol())) {
      conn.dontReuse();
    }
    if (!decoder.completeIn(rest)) {
      // the body streams once filters have returned; until then nothing may be read
      conn.source().suspendReads();
    }
    PooledByteBuffer leftover = readBuffer;
    readBuffer = null;
    call.headArrived(status, headers, parser.protocol(), decoder, leftover, rest);
  }

  // ---------------------------------------------------------------- response body and endings

  @Override
  public StreamSourceChannel responseSource() {
    return conn.source();
  }

  @Override
  public boolean framedSource() {
    return false;
  }

  @Override
  public boolean hasSource() {
    return conn != null;
  }

  @Override
  public boolean cleanEnd() {
    return true;
  }

  @Override
  public void dontReuse() {
    if (conn != null) {
      conn.dontReuse();
    }
  }

  @Override
  public void responseComplete(boolean requestUnfinished) {
    headOnly = null;
    headBlocked = false;
    releaseHead();
    UpstreamConnection c = conn;
    conn = null;
    c.use(null);
    if (requestUnfinished) {
      c.dontReuse();
    }
    c.source().getReadSetter().set(null);
    c.sink().getWriteSetter().set(null);
    pool.release(c);
  }

  @Override
  public void cancel() {
    if (waiter != null) {
      pool.withdraw(waiter);
      waiter = null;
    }
    if (readBuffer != null) {
      readBuffer.close();
      readBuffer = null;
    }
    headOnly = null;
    releaseHead();
    if (conn != null) {
      UpstreamConnection c = conn;
      conn = null;
      c.use(null);
      c.close();
    }
  }
}
