package dev.gatehouse.proxy.internal.upstream;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.Transformers;
import dev.gatehouse.proxy.internal.http1.BodyDecoder;
import dev.gatehouse.proxy.internal.http1.ChunkedDecoder;
import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.xnio.channels.StreamSourceChannel;

/**
 * Streams an upstream response body to the client: the read-ahead side. Up to {@code
 * responseBufferSize} bytes are read ahead while the client is slower, so that a fast upstream is
 * released early (nginx's {@code proxy_buffers}); buffers beyond the first are charged to the
 * proxy-wide {@link BufferBudget}, and beyond either bound upstream reads pause until the client
 * catches up. Slices are decoded from the framing, passed through the body transformers and an
 * observer (a cache storing the body), and handed to the {@link ClientWriter}, which writes them. A
 * failure after the response has started closes the client connection, so a truncated body can never
 * look complete.
 *
 * <p>Why one class of this size: the read-ahead's bounds (per exchange and proxy-wide), the buffer segments
 * shared by the slices made from them, the decoder, the transformers and the observer are one state machine
 * per response; the client side is {@link ClientWriter}.
 */
final class ResponseStreamer {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ResponseStreamer.class);

  private final UpstreamCall call;
  private final ExchangeCodec codec;
  private final BodyDecoder decoder;
  private final HttpServerExchange hse;
  private final ByteBufferPool buffers;
  private final StreamSourceChannel source;
  /** The body arrives one frame per read event (HTTP/2): writes to the client are batched per round. */
  private final boolean framed;
  private final ClientWriter writer;
  private final int limit;
  private final BufferBudget budget;
  private List<BodyTransformer> transformers;
  private Segment first;
  /** A drained segment kept for the next read. */
  private Segment spare;
  /** Capacity of the read-ahead buffers this exchange holds (charged to the budget). */
  private long held;
  private boolean started;
  private boolean upstreamDone;
  private boolean readsPaused;
  private boolean released;
  private boolean mayAddLength;
  /** Sees the body as received (a cache storing it), until it completes or is cut. */
  private BodyObserver observer;
  /** Read the body without sending it to the client (a cache revalidation's answer). */
  private boolean discard;

  /**
   * @param head the pooled buffer the head was read into
   * @param rest the bytes of {@code head} after the head: the first of the body
   */
  ResponseStreamer(UpstreamCall call, ExchangeCodec codec, ExchangeImpl ex, BodyDecoder decoder, PooledByteBuffer head,
      ByteBuffer rest, int limit, BufferBudget budget) {
    this.call = call;
    this.codec = codec;
    this.decoder = decoder;
    this.hse = ex.hse();
    this.buffers = hse.getConnection().getByteBufferPool();
    this.source = codec.responseSource();
    this.framed = codec.framedSource();
    this.writer = new ClientWriter(this, call, ex);
    this.limit = limit;
    this.budget = budget;
    this.first = new Segment(head, 0);
    this.first.buffer = rest;
  }

  boolean started() {
    return started;
  }

  boolean isReleased() {
    return released;
  }

  boolean upstreamDone() {
    return upstreamDone;
  }

  boolean discarding() {
    return discard;
  }

  /** Whether the body's exact length may be declared once it is all read (a transformer may change it). */
  boolean mayDeclareLength() {
    return mayAddLength;
  }

  /** Lets {@code o} see the body as it is received and learn how it ends. Before {@link #start}. */
  void observe(BodyObserver o) {
    this.observer = o;
  }

  /**
   * Reads the body to its end without sending it anywhere (the observer still sees it), so that the
   * upstream connection can be reused; the client's response is another one. Instead of {@link #start}.
   */
  void startDiscarding() {
    if (started || released) {
      return;
    }
    discard = true;
    started = true;
    Segment s = first;
    first = null;
    decode(s);
    if (released) {
      return;
    }
    if (!upstreamDone) {
      source.resumeReads();
    }
    onUpstreamReadable();
  }

  /** Whether the upstream owes us bytes (reads are on and not paused for a slow client). */
  boolean waitingForUpstream() {
    return started && !upstreamDone && !readsPaused && !writer.failing();
  }

  /** Whether the client has not taken what was written (a slow reader). */
  boolean waitingForClient() {
    return writer.awaitingWritable() && !released;
  }

  /** The client read nothing for idleTimeout: give up on it. */
  void clientTimedOut(RuntimeException e) {
    writer.clientTimedOut();
    if (continueWithoutClient()) {
      return;
    }
    call.abortStreaming(e);
    writer.abort();
  }

  /**
   * Starts streaming after the response head has been committed to the exchange (status and headers
   * set, not yet sent). Called on the I/O thread.
   */
  void start(List<BodyTransformer> transformers) {
    started = true;
    this.transformers = transformers == null || transformers.isEmpty() ? null : transformers;
    if (this.transformers != null) {
      // The length may change; it is set exactly if the whole body is known before the head goes out.
      hse.getResponseHeaders().remove(Headers.CONTENT_LENGTH);
      mayAddLength = bodyAllowed();
    }
    Segment s = first;
    first = null;
    decode(s);
    if (released) {
      return;
    }
    if (!upstreamDone) {
      source.resumeReads();
      if (this.transformers == null && writer.isEmpty() && !writer.sendHead()) {
        return; // nothing of the body yet (a slow or streaming upstream): the head went now, or the client failed
      }
    }
    onUpstreamReadable();
  }

  private boolean bodyAllowed() {
    int status = hse.getStatusCode();
    return !"HEAD".equals(hse.getRequestMethod().toString()) && status != 204 && status != 304;
  }

  /** Reads what the upstream has, as far as the read-ahead bounds allow, then lets the writer write. */
  void onUpstreamReadable() {
    if (released || writer.failing()) {
      return;
    }
    boolean budgetSpent = false;
    while (!upstreamDone && writer.queuedBytes() < limit) {
      Segment s = spare;
      if (s != null) {
        spare = null;
        s.refs = 1;
      } else {
        s = new Segment(buffers.allocate(), 0);
      }
      ByteBuffer b = s.pooled.getBuffer();
      b.clear();
      long charge = 0;
      if (writer.queuedBytes() > 0) {
        // reading ahead of the client: bounded per exchange and charged to the proxy-wide budget
        charge = b.capacity();
        if (held + charge > limit || !budget.tryReserve(charge)) {
          spare = s;
          budgetSpent = true;
          break;
        }
      }
      int n;
      try {
        n = source.read(b);
      } catch (IOException e) {
        spare = s;
        budget.release(charge);
        upstreamFailed(new UpstreamResponseException("upstream " + call.endpoint()
            + " reset the connection during the response body", e));
        return;
      }
      if (n <= 0) {
        budget.release(charge);
        spare = s;
      }
      if (n == 0) {
        break;
      }
      if (n < 0) {
        if (decoder.endsAtClose() && codec.cleanEnd()) {
          codec.dontReuse();
          bodyEnded();
          break;
        }
        upstreamFailed(new UpstreamResponseException("upstream " + call.endpoint()
            + " closed the connection before the end of the response body"));
        return;
      }
      call.timeouts().touch();
      b.flip();
      held += charge;
      s.charge = charge;
      s.buffer = b;
      decode(s);
      if (released) {
        return;
      }
    }
    if (!upstreamDone && codec.hasSource()) {
      if (writer.queuedBytes() >= limit || budgetSpent) {
        readsPaused = true;
        source.suspendReads();
      } else {
        readsPaused = false;
        source.resumeReads();
      }
    }
    writer.writeSoon(framed);
  }

  /** Decodes one buffer from the upstream into queued output. */
  private void decode(Segment s) {
    try {
      if (decoder.takeWhole(s.buffer)) {
        // the common case: the whole buffer is body, queued as it is
        if (s.buffer.hasRemaining()) {
          emit(s.buffer, s);
        }
        s.release();
        if (decoder.isDone()) {
          bodyEnded();
        }
        return;
      }
      ByteBuffer slice;
      while (!decoder.isDone() && (slice = decoder.next(s.buffer)) != null) {
        if (slice.hasRemaining()) {
          emit(slice, s);
        }
      }
      if (decoder.isDone()) {
        if (s.buffer.hasRemaining()) {
          codec.dontReuse(); // bytes after the end of the message: do not trust the connection
        }
        s.release();
        bodyEnded();
        return;
      }
    } catch (ChunkedDecoder.FramingException e) {
      s.release();
      upstreamFailed(new UpstreamResponseException("upstream " + call.endpoint() + " sent a " + e.getMessage()));
      return;
    } catch (RuntimeException e) {
      s.release();
      upstreamFailed(e); // a transformer failed
      return;
    }
    s.release();
  }

  private void emit(ByteBuffer data, Segment owner) {
    if (observer != null) {
      try {
        observer.onData(data);
      } catch (RuntimeException e) {
        log.warn("body observer failed", e);
        observer = null;
      }
    }
    if (transformers == null) {
      writer.enqueue(data, owner);
    } else {
      Transformers.apply(transformers, data, b -> writer.enqueue(b, owner));
    }
  }

  /** The body is all in: the observer hears of it, transformers finish, the call completes. */
  private void bodyEnded() {
    upstreamDone = true;
    BodyObserver o = observer;
    if (o != null) {
      observer = null;
      try {
        o.onComplete();
      } catch (RuntimeException e) {
        log.warn("body observer failed", e);
      }
    }
    if (transformers != null) {
      try {
        Transformers.finish(transformers, b -> writer.enqueue(b, null));
      } catch (RuntimeException e) {
        upstreamFailed(e);
        return;
      }
    }
    call.onResponseComplete();
  }

  /** What was queued while discarding is gone: read on, or stop at the end. */
  void discarded() {
    if (upstreamDone) {
      release();
    } else {
      resumeUpstreamIfRoom();
    }
  }

  void resumeUpstreamIfRoom() {
    if (readsPaused && writer.queuedBytes() < limit && codec.hasSource()) {
      readsPaused = false;
      call.timeouts().touch();
      source.resumeReads();
    }
  }

  /** The upstream failed mid-body (reset, truncation, malformed framing, read timeout). */
  void upstreamFailed(RuntimeException e) {
    if (released) {
      return;
    }
    if (discard) {
      call.abortStreaming(e);
      release();
      return;
    }
    if (!writer.started()) {
      // Nothing sent yet (the body was held by a transformer): the client can still get an error status.
      release();
      call.failStreaming(e);
      return;
    }
    call.abortStreaming(e);
    writer.failAfterDrain(); // deliver what the upstream did send, then cut the connection
  }

  /**
   * The client left mid-body, but the observer still wants the body (a cache storing it, or requests
   * following it): the client's side is closed, and the rest is read to its end without it.
   */
  boolean continueWithoutClient() {
    if (discard) {
      return !released; // already going on without the client
    }
    BodyObserver o = observer;
    if (o == null || upstreamDone || released || !o.wantsRest()) {
      return false;
    }
    discard = true;
    call.detachFromClient();
    writer.detach();
    resumeUpstreamIfRoom();
    return true;
  }

  /** Frees every buffer this streamer holds. */
  void release() {
    if (released) {
      return;
    }
    released = true;
    BodyObserver obs = observer;
    if (obs != null) {
      observer = null;
      try {
        obs.onAbort();
      } catch (RuntimeException e) {
        log.warn("body observer failed", e);
      }
    }
    if (first != null) {
      first.release();
      first = null;
    }
    if (spare != null) {
      spare.pooled.close();
      spare = null;
    }
    writer.drop();
  }

  /** A pooled read buffer shared by the slices made from it; returned to the pool with the last one. */
  final class Segment {
    final PooledByteBuffer pooled;
    long charge;
    ByteBuffer buffer;
    int refs = 1;

    Segment(PooledByteBuffer pooled, long charge) {
      this.pooled = pooled;
      this.charge = charge;
    }

    void release() {
      if (--refs == 0) {
        if (charge > 0) {
          held -= charge;
          budget.release(charge);
          charge = 0;
        }
        if (spare == null && !released) {
          spare = this; // the next read reuses it: no pool round trip, no new segment
          buffer = null;
        } else {
          pooled.close();
        }
      }
    }
  }
}
