package dev.gatehouse.proxy.internal.upstream;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.internal.exchange.Transformers;
import dev.gatehouse.proxy.internal.http1.BodyDecoder;
import dev.gatehouse.proxy.internal.http1.ChunkedDecoder;
import dev.gatehouse.proxy.internal.server.Engine;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import org.xnio.ChannelListeners;
import org.xnio.channels.StreamSinkChannel;

/**
 * Streams an upstream response body to the client. Up to {@code responseBufferSize} bytes are read
 * ahead while the client is slower, so that a fast upstream is released early (nginx's {@code
 * proxy_buffers}); beyond that, upstream reads pause until the client catches up. A failure after the
 * response has started closes the client connection, so a truncated body can never look complete.
 */
final class ResponseStreamer {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ResponseStreamer.class);
  private static final int MAX_GATHER = 16;
  /** Scratch for gathering writes; used and cleared within one call on the I/O thread. */
  private static final ThreadLocal<ByteBuffer[]> GATHER = ThreadLocal.withInitial(() -> new ByteBuffer[MAX_GATHER]);

  private final UpstreamCall call;
  private final BodyDecoder decoder;
  private final HttpServerExchange hse;
  private final ArrayDeque<Out> queue = new ArrayDeque<>(8);
  private final int limit;
  private final BufferBudget budget;
  private List<BodyTransformer> transformers;
  private Segment first;
  /** A drained segment kept for the next read. */
  private Segment spare;
  private long queuedBytes;
  /** Capacity of the read-ahead buffers this exchange holds (charged to the budget). */
  private long held;
  private StreamSinkChannel out;
  private boolean started;
  private boolean upstreamDone;
  private boolean readsPaused;
  private boolean awaitingWritable;
  private boolean clientDone;
  private boolean released;
  private boolean mayAddLength;
  private boolean failAfterDrain;
  private boolean writeScheduled;
  /** Made on first use: only HTTP/2 upstreams schedule writes. */
  private Runnable scheduledWrite;
  /** Sees the body as received (a cache storing it), until it completes or is cut. */
  private BodyObserver observer;
  /** Read the body without sending it to the client (a cache revalidation's answer). */
  private boolean discard;

  ResponseStreamer(UpstreamCall call, BodyDecoder decoder, PooledByteBuffer head, ByteBuffer rest) {
    this.call = call;
    this.decoder = decoder;
    this.hse = call.hse;
    this.limit = call.config.responseBufferSize();
    this.budget = call.ex.engine().bufferBudget();
    this.first = new Segment(head, 0);
    this.first.buffer = rest;
  }

  boolean started() {
    return started;
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
      call.source().resumeReads();
    }
    onUpstreamReadable();
  }

  /** Whether the upstream owes us bytes (reads are on and not paused for a slow client). */
  boolean waitingForUpstream() {
    return started && !upstreamDone && !readsPaused && !failAfterDrain;
  }

  /** Whether the client has not taken what was written (a slow reader). */
  boolean waitingForClient() {
    return awaitingWritable && !released;
  }

  /** The client read nothing for idleTimeout: give up on it. */
  void clientTimedOut(RuntimeException e) {
    clientDone = true;
    if (continueWithoutClient()) {
      return;
    }
    call.abortStreaming(e);
    abortClient();
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
      call.source().resumeReads();
      if (this.transformers == null && queue.isEmpty()) {
        // Nothing of the body yet (a slow or streaming upstream): send the head now.
        openChannel();
        try {
          out.flush();
        } catch (IOException e) {
          clientFailed(e);
          return;
        }
      }
    }
    onUpstreamReadable();
  }

  private boolean bodyAllowed() {
    int status = hse.getStatusCode();
    return !"HEAD".equals(hse.getRequestMethod().toString()) && status != 204 && status != 304;
  }

  void onUpstreamReadable() {
    if (released || failAfterDrain) {
      return;
    }
    boolean budgetSpent = false;
    while (!upstreamDone && queuedBytes < limit) {
      Segment s = spare;
      if (s != null) {
        spare = null;
        s.refs = 1;
      } else {
        s = new Segment(hse.getConnection().getByteBufferPool().allocate(), 0);
      }
      ByteBuffer b = s.pooled.getBuffer();
      b.clear();
      long charge = 0;
      if (queuedBytes > 0) {
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
        n = call.source().read(b);
      } catch (IOException e) {
        spare = s;
        budget.release(charge);
        upstreamFailed(new UpstreamResponseException("upstream " + call.endpoint
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
        if (decoder.endsAtClose() && call.cleanEnd()) {
          call.dontReuse();
          upstreamDone();
          break;
        }
        upstreamFailed(new UpstreamResponseException("upstream " + call.endpoint
            + " closed the connection before the end of the response body"));
        return;
      }
      call.touch();
      b.flip();
      held += charge;
      s.charge = charge;
      s.buffer = b;
      decode(s);
      if (released) {
        return;
      }
    }
    if (!upstreamDone && call.hasSource()) {
      if (queuedBytes >= limit || budgetSpent) {
        readsPaused = true;
        call.source().suspendReads();
      } else {
        readsPaused = false;
        call.source().resumeReads();
      }
    }
    if (!awaitingWritable) {
      if (call.framedSource()) {
        scheduleWrite();
      } else {
        writeToClient();
      }
    }
  }

  /**
   * An HTTP/2 upstream hands over one DATA frame per read event (often 8 KiB); writing each to the
   * client at once costs a system call per frame. The write waits for the end of the I/O thread's
   * current round instead, so the frames that arrived together leave in one gathering write.
   */
  private void scheduleWrite() {
    if (writeScheduled) {
      return;
    }
    writeScheduled = true;
    if (scheduledWrite == null) {
      scheduledWrite = this::runScheduledWrite;
    }
    hse.getIoThread().execute(scheduledWrite);
  }

  private void runScheduledWrite() {
    writeScheduled = false;
    if (!awaitingWritable) {
      writeToClient();
    }
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
          upstreamDone();
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
          call.dontReuse(); // bytes after the end of the message: do not trust the connection
        }
        s.release();
        upstreamDone();
        return;
      }
    } catch (ChunkedDecoder.FramingException e) {
      s.release();
      upstreamFailed(new UpstreamResponseException("upstream " + call.endpoint + " sent a " + e.getMessage()));
      return;
    } catch (RuntimeException e) {
      s.release();
      transformFailed(e);
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
      enqueue(data, owner);
    } else {
      Transformers.apply(transformers, data, b -> enqueue(b, owner));
    }
  }

  private void enqueue(ByteBuffer data, Segment owner) {
    if (owner != null) {
      owner.refs++;
    }
    queue.add(new Out(data, owner));
    queuedBytes += data.remaining();
  }

  private void upstreamDone() {
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
        Transformers.finish(transformers, b -> enqueue(b, null));
      } catch (RuntimeException e) {
        transformFailed(e);
        return;
      }
    }
    call.onResponseComplete();
  }

  private void openChannel() {
    if (out != null) {
      return;
    }
    if (mayAddLength && upstreamDone) {
      hse.getResponseHeaders().put(Headers.CONTENT_LENGTH, queuedBytes);
    }
    out = hse.getResponseChannel();
    out.getWriteSetter().set(ch -> {
      awaitingWritable = false;
      writeToClient();
    });
  }

  private void writeToClient() {
    if (released || (clientDone && !discard)) {
      return;
    }
    if (discard) {
      Out o;
      while ((o = queue.poll()) != null) {
        if (o.owner != null) {
          o.owner.release();
        }
      }
      queuedBytes = 0;
      if (upstreamDone) {
        release();
      } else {
        resumeUpstreamIfRoom();
      }
      return;
    }
    if (out == null) {
      if (queue.isEmpty() && !upstreamDone) {
        return;
      }
      openChannel();
    }
    while (!queue.isEmpty()) {
      ByteBuffer[] gather = GATHER.get();
      int k = 0;
      for (Out o : queue) {
        gather[k++] = o.data;
        if (k == MAX_GATHER) {
          break;
        }
      }
      long written;
      try {
        written = out.write(gather, 0, k);
      } catch (IOException e) {
        Arrays.fill(gather, 0, k, null);
        clientFailed(e);
        return;
      }
      Arrays.fill(gather, 0, k, null);
      queuedBytes -= written;
      call.ex.addResponseBodyBytes(written);
      Out o;
      while ((o = queue.peek()) != null && !o.data.hasRemaining()) {
        queue.poll();
        if (o.owner != null) {
          o.owner.release();
        }
      }
      if (written > 0) {
        call.touchClient();
      }
      if (!queue.isEmpty() && written == 0) {
        if (!awaitingWritable) {
          call.touchClient();
        }
        awaitingWritable = true;
        out.resumeWrites();
        resumeUpstreamIfRoom();
        return;
      }
    }
    if (failAfterDrain) {
      try {
        if (!out.flush()) {
          if (!awaitingWritable) {
            call.touchClient();
          }
          awaitingWritable = true;
          out.resumeWrites();
          return;
        }
      } catch (IOException e) {
        // closing anyway
      }
      abortClient();
      return;
    }
    if (upstreamDone) {
      finishClient();
      return;
    }
    resumeUpstreamIfRoom();
  }

  private void resumeUpstreamIfRoom() {
    if (readsPaused && queuedBytes < limit && call.hasSource()) {
      readsPaused = false;
      call.touch();
      call.source().resumeReads();
    }
  }

  private void finishClient() {
    clientDone = true;
    try {
      out.shutdownWrites();
      if (!out.flush()) {
        out.getWriteSetter().set(ChannelListeners.flushingChannelListener(
            ch -> responseSent(), (ch, e) -> clientFailed(e)));
        out.resumeWrites();
        return;
      }
    } catch (IOException e) {
      clientFailed(e);
      return;
    }
    responseSent();
  }

  /**
   * The whole response is out. Undertow completes the exchange only once the request side is done too:
   * endExchange() reads what is left of an unread request body, or closes the connection when it is not
   * to be kept.
   */
  private void responseSent() {
    release();
    hse.endExchange();
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
    if (out == null && !hse.isResponseStarted()) {
      // Nothing sent yet (the body was held by a transformer): the client can still get an error status.
      release();
      call.failStreaming(e, true);
      return;
    }
    call.abortStreaming(e);
    if (queue.isEmpty() || out == null) {
      abortClient();
    } else {
      // Deliver what the upstream did send, then cut the connection: the client sees a truncated message.
      failAfterDrain = true;
      if (!awaitingWritable) {
        writeToClient();
      }
    }
  }

  private void transformFailed(RuntimeException e) {
    upstreamFailed(e);
  }

  private void clientFailed(IOException e) {
    clientDone = true;
    if (continueWithoutClient()) {
      return;
    }
    call.clientGone(e);
    abortClient();
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
    Out q;
    while ((q = queue.poll()) != null) {
      if (q.owner != null) {
        q.owner.release();
      }
    }
    queuedBytes = 0;
    awaitingWritable = false;
    Engine.abortClient(hse, out); // may end the client's exchange at once: the call stays, detached
    resumeUpstreamIfRoom();
    return true;
  }

  /** Ends the client's response abnormally: the connection (HTTP/1.x) or the stream (HTTP/2) is closed. */
  private void abortClient() {
    release();
    Engine.abortClient(hse, out);
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
    Out o;
    while ((o = queue.poll()) != null) {
      if (o.owner != null) {
        o.owner.release();
      }
    }
    queuedBytes = 0;
  }

  private static final class Out {
    final ByteBuffer data;
    final Segment owner;

    Out(ByteBuffer data, Segment owner) {
      this.data = data;
      this.owner = owner;
    }
  }

  /** A pooled read buffer shared by the slices made from it; returned to the pool with the last one. */
  private final class Segment {
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
