package dev.gatehouse.proxy.internal.upstream;

import dev.gatehouse.proxy.BodyTooLargeException;
import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.ReplayBuffer;
import dev.gatehouse.proxy.internal.exchange.RequestBody;
import dev.gatehouse.proxy.internal.exchange.RequestImpl;
import dev.gatehouse.proxy.internal.exchange.Transformers;
import dev.gatehouse.proxy.internal.server.RequestValidator;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpContinue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channel;
import java.util.ArrayDeque;
import java.util.List;
import org.xnio.ChannelListener;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * Streams the client's request body to the upstream: reads it (again from the replay buffer on a
 * retry), passes it through the request's body transformers, enforces {@code maxRequestBodySize}, and
 * writes it with its codec's framing ({@code Content-Length} or chunked for HTTP/1.1, DATA frames for
 * HTTP/2), the head first when the codec writes one. Reads from the client only when everything read
 * before has been written, so at most one I/O buffer is held per request. Listens to both channels
 * itself (no listener object per request).
 *
 * <p>Why one class of this size: the body's states (head queued or not, chunked, replayed, transformed,
 * waiting for Continue, for the client or for the upstream) are shared by every step of one loop over two
 * channels.
 */
final class BodyPump implements ChannelListener<Channel> {
  private final UpstreamCall call;
  private final ExchangeCodec codec;
  private final ExchangeImpl ex;
  private final HttpServerExchange hse;
  private final StreamSinkChannel sink;
  /** The codec's channel holds writes until flushed (HTTP/2). */
  private final boolean flushes;
  /** The end of the body is the end of the stream (HTTP/2): the sink is shut when it is all written. */
  private final boolean endsWithStream;
  private boolean shutdown;
  private final RequestImpl request;
  private final List<BodyTransformer> transformers;
  private final ArrayDeque<ByteBuffer> pending = new ArrayDeque<>(8);
  private final long maxBody;
  private StreamSourceChannel in;
  private PooledByteBuffer inBuf;
  private boolean chunked;
  private boolean headSent;
  private boolean bodyStarted;
  private boolean inDone;
  private boolean done;
  private boolean stopped;
  private boolean blockedOnUpstream;
  private boolean waitingForClient;
  private long received;
  private ReplayBuffer replay;

  BodyPump(UpstreamCall call, ExchangeCodec codec, ExchangeImpl ex, long maxBody) {
    this.call = call;
    this.codec = codec;
    this.ex = ex;
    this.hse = ex.hse();
    this.sink = codec.requestSink();
    this.flushes = codec.flushesWrites();
    this.endsWithStream = codec.endsBodyWithStream();
    this.request = ex.requestImpl();
    List<BodyTransformer> t = request.transformers();
    this.transformers = t == null || t.isEmpty() ? null : t;
    this.maxBody = maxBody;
  }

  boolean isDone() {
    return done;
  }

  boolean blockedOnUpstream() {
    return blockedOnUpstream;
  }

  /** Waiting for the client to send more of its body. */
  boolean waitingForClient() {
    return waitingForClient;
  }

  @Override
  public void handleEvent(Channel channel) {
    pump(); // the client's body is readable, or the upstream writable
  }

  /**
   * Starts: a body of known length or chunked goes out after its head at once (or after the upstream's
   * {@code 100 Continue}); a transformed body's head waits for the first output (then chunked) or the
   * end (then an exact length); a request without a body but with transformers sends what they finish with.
   */
  void start() {
    boolean expect = HttpContinue.requiresContinueResponse(hse);
    if (!request.hasBody()) {
      inDone = true; // transformers only: what they make at the end is the body
      List<ByteBuffer> tail = finishTransformers();
      if (tail == null) {
        return;
      }
      codec.queueHead(pending, Transformers.remaining(tail), false);
      pending.addAll(tail);
      headSent = true;
      pump();
      return;
    }
    if (transformers == null && request.contentLength() != 0) {
      long length = request.contentLength() < 0 ? -1 : request.contentLength();
      if (codec.queueHead(pending, length, expect)) {
        chunked = length == -1;
        headSent = true;
        if (expect) {
          if (flush()) {
            call.expectContinue().await();
          }
          // else the write listener flushes the head; the wait starts once it is out (see pump)
          return;
        }
        startBody();
        return;
      }
      headSent = true; // it opened the stream
    }
    // HTTP/2 (the head is out), content-length 0 on a stream still open (the head, a complete request by
    // itself, waits until the stream has ended without data: see DeclaredLengthConduit), or a transformed
    // body (its head waits for the first output)
    if (expect) {
      call.expectContinue().continueClient();
    } else {
      startBody();
    }
  }

  /** Starts reading the client's body (after 100 Continue, if one was needed). */
  void startBody() {
    if (stopped || bodyStarted) {
      return;
    }
    bodyStarted = true;
    RequestBody body = ex.requestBody();
    in = body.channel();
    if (in == null) {
      stop();
      call.onClientBodyFailed(new IOException("request body already consumed"));
      return;
    }
    replay = transformers == null ? body.replay() : null;
    if (replay != null && replay.size() > 0) {
      // a retry: first what the earlier attempt read from the client, then the rest
      for (ByteBuffer chunk : replay.chunks()) {
        queueData(chunk);
      }
      received = replay.size();
    }
    if (body.done()) {
      inDone = true;
      if (!endOfBody()) {
        return;
      }
    } else {
      inBuf = hse.getConnection().getByteBufferPool().allocate();
      in.getReadSetter().set(this);
    }
    pump();
  }

  /** Moves bytes until blocked on either side or done. */
  void pump() {
    if (stopped) {
      return;
    }
    for (;;) {
      if (!flush()) {
        return;
      }
      if (inDone) {
        finish();
        return;
      }
      if (!bodyStarted) {
        // the head (with Expect) is out: wait for 100 Continue
        call.expectContinue().await();
        return;
      }
      ByteBuffer b = inBuf.getBuffer();
      b.clear();
      int n;
      try {
        n = in.read(b);
      } catch (IOException e) {
        stop();
        call.onClientBodyFailed(e);
        return;
      }
      if (n == 0) {
        if (!waitingForClient) {
          waitingForClient = true;
          call.timeouts().touchClient();
        }
        in.resumeReads();
        return;
      }
      waitingForClient = false;
      if (n < 0) {
        inDone = true;
        ex.requestBody().markDone();
        in.suspendReads();
        String badTrailer = RequestValidator.trailerProblem(hse);
        if (badTrailer != null) {
          stop();
          call.onClientBodyFailed(new IOException("malformed request trailer: " + badTrailer));
          return;
        }
        if (!endOfBody()) {
          return;
        }
        continue;
      }
      call.onBodyConsumed();
      call.timeouts().touchClient();
      received += n;
      ex.addRequestBodyBytes(n);
      if (maxBody >= 0 && received > maxBody) {
        stop();
        call.onRequestBodyRejected(new BodyTooLargeException(maxBody));
        return;
      }
      b.flip();
      if (replay != null) {
        replay.append(b);
      }
      if (transformers == null) {
        queueData(b);
      } else {
        try {
          Transformers.apply(transformers, b, out -> {
            if (!headSent) {
              chunked = codec.queueHead(pending, -1, false);
              headSent = true;
            }
            queueData(out);
          });
        } catch (RuntimeException e) {
          stop();
          call.onRequestBodyRejected(e);
          return;
        }
      }
    }
  }


  /** Queues the end of the body; false if it failed. */
  private boolean endOfBody() {
    if (transformers == null && !headSent) {
      codec.queueHead(pending, 0, false);
      headSent = true;
      return true;
    }
    if (transformers != null) {
      List<ByteBuffer> tail = finishTransformers();
      if (tail == null) {
        return false;
      }
      if (!headSent) {
        codec.queueHead(pending, Transformers.remaining(tail), false);
        headSent = true;
        pending.addAll(tail);
        return true;
      }
      for (ByteBuffer t : tail) {
        queueData(t);
      }
    }
    if (chunked) {
      codec.queueLastChunk(pending);
    }
    return true;
  }

  /** What the transformers make at the end; null (the call failed) if one of them failed. */
  private List<ByteBuffer> finishTransformers() {
    try {
      return Transformers.finishAll(transformers);
    } catch (RuntimeException e) {
      stop();
      call.onRequestBodyRejected(e);
      return null;
    }
  }

  private void queueData(ByteBuffer data) {
    if (chunked) {
      codec.queueChunk(pending, data);
    } else {
      pending.add(data);
    }
  }

  /** Writes what is pending; false (with a write listener set) if the upstream cannot take it all now. */
  private boolean flush() {
    while (!pending.isEmpty()) {
      long written;
      try {
        written = GatheringWrite.write(sink, pending, GatheringWrite::self);
      } catch (IOException e) {
        stop();
        call.upstreamWriteFailed(e);
        return false;
      }
      if (written > 0) {
        call.onRequestBytesWritten();
        call.timeouts().touch();
      }
      while (!pending.isEmpty() && !pending.peek().hasRemaining()) {
        pending.poll();
      }
      if (!pending.isEmpty() && written == 0) {
        waitForUpstream();
        return false;
      }
    }
    codec.releaseHead();
    if (flushes) {
      // a framed channel holds what was written until flushed
      try {
        if (!sink.flush()) {
          waitForUpstream();
          return false;
        }
      } catch (IOException e) {
        stop();
        call.upstreamWriteFailed(e);
        return false;
      }
    }
    if (blockedOnUpstream) {
      blockedOnUpstream = false;
      sink.suspendWrites();
    }
    return true;
  }

  /** The upstream takes no more for now: stop reading the client until it is writable again. */
  private void waitForUpstream() {
    blockedOnUpstream = true;
    sink.getWriteSetter().set(this);
    sink.resumeWrites();
    if (in != null) {
      in.suspendReads();
    }
  }

  private void finish() {
    try {
      if (endsWithStream && !shutdown) {
        shutdown = true;
        sink.shutdownWrites(); // END_STREAM
      }
      if (!sink.flush()) {
        blockedOnUpstream = true;
        sink.getWriteSetter().set(this);
        sink.resumeWrites();
        return;
      }
    } catch (IOException e) {
      stop();
      call.upstreamWriteFailed(e);
      return;
    }
    if (blockedOnUpstream) {
      blockedOnUpstream = false;
      sink.suspendWrites();
    }
    if (!done) {
      done = true;
      releaseBuffer();
      call.onRequestSent();
    }
  }

  /** Stops for good: no more reads from the client or writes to the upstream. */
  void stop() {
    if (stopped) {
      return;
    }
    stopped = true;
    waitingForClient = false;
    pending.clear();
    if (in != null) {
      in.suspendReads();
      in.getReadSetter().set(null);
    }
    if (sink.isOpen()) {
      sink.suspendWrites();
      sink.getWriteSetter().set(null);
    }
    releaseBuffer();
  }

  private void releaseBuffer() {
    if (inBuf != null) {
      inBuf.close();
      inBuf = null;
    }
    codec.releaseHead();
  }
}
