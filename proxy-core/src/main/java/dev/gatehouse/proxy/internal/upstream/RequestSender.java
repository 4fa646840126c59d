package dev.gatehouse.proxy.internal.upstream;

import dev.gatehouse.proxy.BodyTooLargeException;
import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.internal.exchange.ReplayBuffer;
import dev.gatehouse.proxy.internal.exchange.RequestImpl;
import dev.gatehouse.proxy.internal.exchange.Transformers;
import dev.gatehouse.proxy.internal.http1.Http;
import dev.gatehouse.proxy.internal.http1.RequestHead;
import dev.gatehouse.proxy.internal.pool.UpstreamConnection;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.protocol.http.HttpContinue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * Writes the request head and streams the client's body to the upstream with the proxy's own framing
 * ({@code Content-Length} or chunked). Reads from the client only when everything read before has been
 * written, so at most one I/O buffer is held per request.
 */
final class RequestSender {
  private static final byte[] CRLF = {'\r', '\n'};
  private static final byte[] LAST_CHUNK = {'0', '\r', '\n', '\r', '\n'};
  private static final int MAX_GATHER = 16;
  /** Scratch for gathering writes; used and cleared within one call on the I/O thread. */
  private static final ThreadLocal<ByteBuffer[]> GATHER = ThreadLocal.withInitial(() -> new ByteBuffer[MAX_GATHER]);

  private final UpstreamCall call;
  private final StreamSinkChannel sink;
  /** HTTP/2: the head went out with the stream; the body goes as it is and ends with the stream. */
  private final boolean h2;
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
  private PooledByteBuffer headBuffer;

  RequestSender(UpstreamCall call, UpstreamConnection conn) {
    this(call, conn.sink(), false);
  }

  RequestSender(UpstreamCall call, StreamSinkChannel sink, boolean h2) {
    this.call = call;
    this.sink = sink;
    this.h2 = h2;
    this.request = call.ex.requestImpl();
    List<BodyTransformer> t = request.transformers();
    this.transformers = t == null || t.isEmpty() ? null : t;
    this.maxBody = call.config.maxRequestBodySize();
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

  void start() {
    if (h2) {
      headSent = true;
      boolean expect = HttpContinue.requiresContinueResponse(call.hse);
      if (!request.hasBody()) {
        inDone = true;
        if (transformers != null) {
          List<ByteBuffer> tail = finishTransformers();
          if (tail == null) {
            return;
          }
          pending.addAll(tail);
        }
        pump();
      } else if (expect) {
        call.continueClient();
      } else {
        startBody();
      }
      return;
    }
    boolean closeAfter = call.pool.maxIdle() == 0 && !call.upgradeRequested;
    if (!request.hasBody()) {
      inDone = true;
      if (transformers == null) {
        long cl = request.headerMap().contains("Content-Length") ? 0 : -2;
        pending.add(head(cl, false, closeAfter));
      } else {
        List<ByteBuffer> tail = finishTransformers();
        if (tail == null) {
          return;
        }
        pending.add(head(total(tail), false, closeAfter));
        pending.addAll(tail);
      }
      headSent = true;
      pump();
      return;
    }
    boolean expect = HttpContinue.requiresContinueResponse(call.hse);
    if (transformers == null && request.contentLength() == 0) {
      // HTTP/2, content-length 0, stream still open: the head, a complete request by itself, waits until
      // the stream has ended without data (see DeclaredLengthConduit)
      if (expect) {
        call.continueClient();
      } else {
        startBody();
      }
      return;
    }
    if (transformers == null) {
      chunked = request.contentLength() < 0;
      pending.add(head(chunked ? -1 : request.contentLength(), expect, closeAfter));
      headSent = true;
      if (expect) {
        if (flush()) {
          call.awaitContinue();
        }
        // else the write listener flushes the head; awaitContinue once it is out (see pump)
        return;
      }
      startBody();
      return;
    }
    // A transformed body: the head waits for the first output (then chunked) or the end (then an exact length).
    if (expect) {
      call.continueClient();
    } else {
      startBody();
    }
  }

  private ByteBuffer head(long contentLength, boolean keepExpect, boolean closeAfter) {
    String target = call.requestTarget != null ? call.requestTarget : request.pathAndQuery();
    PooledByteBuffer pooled = call.hse.getConnection().getByteBufferPool().allocate();
    ByteBuffer b = pooled.getBuffer();
    b.clear();
    if (RequestHead.writeTo(b, request, call.endpoint, target, contentLength, keepExpect, closeAfter, call.extraHeaders)) {
      b.flip();
      headBuffer = pooled; // returned to the pool once written
      return b;
    }
    pooled.close();
    return RequestHead.write(request, call.endpoint, target, contentLength, keepExpect, closeAfter, call.extraHeaders);
  }

  /** Starts reading the client's body (after 100 Continue, if one was needed). */
  void startBody() {
    if (stopped || bodyStarted) {
      return;
    }
    bodyStarted = true;
    in = call.ex.requestChannel();
    if (in == null) {
      stop();
      call.onClientBodyFailed(new IOException("request body already consumed"));
      return;
    }
    replay = transformers == null ? call.ex.replayBuffer() : null;
    if (replay != null && replay.size() > 0) {
      // a retry: first what the earlier attempt read from the client, then the rest
      for (ByteBuffer chunk : replay.chunks()) {
        queueData(chunk);
      }
      received = replay.size();
    }
    if (call.ex.requestBodyDone()) {
      inDone = true;
      if (!endOfBody()) {
        return;
      }
    } else {
      inBuf = call.hse.getConnection().getByteBufferPool().allocate();
      in.getReadSetter().set(ch -> pump());
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
        // head (with Expect) is out: wait for 100 Continue
        call.awaitContinue();
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
          call.touchClient();
        }
        in.resumeReads();
        return;
      }
      waitingForClient = false;
      if (n < 0) {
        inDone = true;
        call.ex.requestBodyDone(true);
        in.suspendReads();
        String badTrailer = trailerProblem();
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
      call.bodyConsumed = true;
      call.touchClient();
      received += n;
      call.ex.addRequestBodyBytes(n);
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
              chunked = true;
              pending.add(head(-1, false, call.pool.maxIdle() == 0));
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

  /**
   * Trailers are not forwarded, but a request whose trailer section is malformed is malformed as a whole
   * (RFC 9113 §8.1.1): it is refused before the upstream sees the end of it. Null when they are fine.
   */
  private String trailerProblem() {
    io.undertow.util.HeaderMap trailers = call.hse.getAttachment(io.undertow.server.protocol.http.HttpAttachments.REQUEST_TRAILERS);
    if (trailers == null) {
      return null;
    }
    boolean h2Client = io.undertow.util.Protocols.HTTP_2_0.equals(call.hse.getProtocol());
    for (io.undertow.util.HeaderValues values : trailers) {
      String name = values.getHeaderName().toString();
      for (String v : values) {
        String problem = h2Client ? Http.http2FieldProblem(name, v)
            : !Http.isToken(name) ? "invalid field name" : v == null || !Http.isValidValue(v) ? "CR, LF or NUL in a value" : null;
        if (problem != null) {
          return problem;
        }
      }
    }
    return null;
  }

  /** Queues the end of the body; false if it failed. */
  private boolean endOfBody() {
    if (transformers == null && !headSent) {
      pending.add(head(0, false, call.pool.maxIdle() == 0));
      headSent = true;
      return true;
    }
    if (transformers != null) {
      List<ByteBuffer> tail = finishTransformers();
      if (tail == null) {
        return false;
      }
      if (!headSent) {
        pending.add(head(total(tail), false, call.pool.maxIdle() == 0));
        headSent = true;
        pending.addAll(tail);
        return true;
      }
      for (ByteBuffer t : tail) {
        queueData(t);
      }
    }
    if (chunked) {
      pending.add(ByteBuffer.wrap(LAST_CHUNK));
    }
    return true;
  }

  private List<ByteBuffer> finishTransformers() {
    List<ByteBuffer> tail = new ArrayList<>(1);
    try {
      Transformers.finish(transformers, tail::add);
    } catch (RuntimeException e) {
      stop();
      call.onRequestBodyRejected(e);
      return null;
    }
    return tail;
  }

  private static long total(List<ByteBuffer> buffers) {
    long n = 0;
    for (ByteBuffer b : buffers) {
      n += b.remaining();
    }
    return n;
  }

  private void queueData(ByteBuffer data) {
    if (chunked) {
      pending.add(ByteBuffer.wrap((Integer.toHexString(data.remaining()) + "\r\n").getBytes(StandardCharsets.US_ASCII)));
      pending.add(data);
      pending.add(ByteBuffer.wrap(CRLF));
    } else {
      pending.add(data);
    }
  }

  /** Writes what is pending; false (with a write listener set) if the upstream cannot take it all now. */
  private boolean flush() {
    while (!pending.isEmpty()) {
      ByteBuffer[] gather = GATHER.get();
      int k = 0;
      for (ByteBuffer b : pending) {
        gather[k++] = b;
        if (k == MAX_GATHER) {
          break;
        }
      }
      long written;
      try {
        written = sink.write(gather, 0, k);
      } catch (IOException e) {
        stop();
        call.onUpstreamWriteFailed(e);
        return false;
      } finally {
        java.util.Arrays.fill(gather, 0, k, null);
      }
      if (written > 0) {
        call.requestBytesWritten = true;
        call.touch();
      }
      while (!pending.isEmpty() && !pending.peek().hasRemaining()) {
        pending.poll();
      }
      if (!pending.isEmpty() && written == 0) {
        waitForUpstream();
        return false;
      }
    }
    if (headBuffer != null) {
      headBuffer.close();
      headBuffer = null;
    }
    if (h2) {
      // a framed channel holds what was written until flushed
      try {
        if (!sink.flush()) {
          waitForUpstream();
          return false;
        }
      } catch (IOException e) {
        stop();
        call.onUpstreamWriteFailed(e);
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
    sink.getWriteSetter().set(ch -> pump());
    sink.resumeWrites();
    if (in != null) {
      in.suspendReads();
    }
  }

  private void finish() {
    try {
      if (h2 && !shutdown) {
        shutdown = true;
        sink.shutdownWrites(); // END_STREAM
      }
      if (!sink.flush()) {
        blockedOnUpstream = true;
        sink.getWriteSetter().set(ch -> pump());
        sink.resumeWrites();
        return;
      }
    } catch (IOException e) {
      stop();
      call.onUpstreamWriteFailed(e);
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
    if (headBuffer != null) {
      headBuffer.close();
      headBuffer = null;
    }
  }
}
