package dev.gatehouse.proxy.internal.upstream;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.ErrorHandler;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.Transformers;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.ChannelListeners;
import org.xnio.XnioExecutor;
import org.xnio.channels.StreamSinkChannel;

/**
 * Writes a {@link BodySource} to the client on the exchange's I/O thread, with back-pressure: it holds
 * at most about {@link #LIMIT} bytes the client has not taken and asks the source for more only when
 * there is room. Chunks available together leave in one gathering write. A source failure, or a client
 * that takes nothing for the proxy's {@code idleTimeout}, cuts the client connection, so a truncated
 * body can never look complete.
 */
public final class SourceStreamer {
  private static final Logger log = LoggerFactory.getLogger(SourceStreamer.class);
  /** Bytes taken from the source ahead of the client. */
  static final int LIMIT = 256 * 1024;

  private final ExchangeImpl ex;
  private final HttpServerExchange hse;
  private final BodySource source;
  private final List<BodyTransformer> transformers;
  private final ArrayDeque<ByteBuffer> queue = new ArrayDeque<>(4);
  private final AtomicBoolean wakeScheduled = new AtomicBoolean();
  private final Runnable wakeup = this::wake;
  private final Runnable drive = this::onWake;
  private StreamSinkChannel out;
  private long queued;
  private boolean sourceEnded;
  private boolean awaitingWritable;
  private boolean done;
  private long lastProgressNanos;
  private XnioExecutor.Key timer;

  private SourceStreamer(ExchangeImpl ex, BodySource source, List<BodyTransformer> transformers) {
    this.ex = ex;
    this.hse = ex.hse();
    this.source = source;
    this.transformers = transformers == null || transformers.isEmpty() ? null : transformers;
  }

  /**
   * Sends {@code source}, through {@code transformers} (its status and fields are already on the exchange). Sets {@code
   * Content-Length} from the source when known and no transformer may change it; HEAD, 204 and 304 get
   * no body. Called on the I/O thread.
   */
  public static void start(ExchangeImpl ex, BodySource source, List<BodyTransformer> transformers) {
    new SourceStreamer(ex, source, transformers).start();
  }

  private void start() {
    int status = hse.getStatusCode();
    boolean head = "HEAD".equals(hse.getRequestMethod().toString());
    boolean noBody = status == 204 || status == 304;
    long length = source.length();
    if (noBody) {
      hse.getResponseHeaders().remove(Headers.CONTENT_LENGTH);
    } else if (transformers == null && length >= 0) {
      hse.getResponseHeaders().put(Headers.CONTENT_LENGTH, length);
    } else if (!head) {
      hse.getResponseHeaders().remove(Headers.CONTENT_LENGTH);
    }
    if (head || noBody) {
      done = true;
      closeSource();
      hse.endExchange();
      return;
    }
    lastProgressNanos = System.nanoTime();
    drive();
  }

  /**
   * Takes the response channel, which sends the head: only once there is something to write, so that a
   * source failing before its first byte still lets the client get an error status.
   */
  private void openChannel() {
    out = hse.getResponseChannel();
    out.getWriteSetter().set(ch -> {
      awaitingWritable = false;
      drive();
    });
  }

  /** From any thread: the source has something (or ended). */
  private void wake() {
    if (wakeScheduled.compareAndSet(false, true)) {
      try {
        hse.getIoThread().execute(drive);
      } catch (RuntimeException e) {
        wakeScheduled.set(false); // the worker is shutting down
      }
    }
  }

  private void onWake() {
    wakeScheduled.set(false);
    if (!awaitingWritable) {
      drive();
    }
  }

  private void drive() {
    while (!done) {
      while (!sourceEnded && queued < LIMIT) {
        ByteBuffer b;
        try {
          b = source.next(wakeup);
        } catch (RuntimeException e) {
          failed(e);
          return;
        }
        if (b == null) {
          break;
        }
        if (b == BodySource.END) {
          sourceEnded = true;
          if (transformers != null) {
            try {
              Transformers.finish(transformers, this::enqueue);
            } catch (RuntimeException e) {
              failed(e);
              return;
            }
          }
          break;
        }
        if (transformers == null) {
          enqueue(b);
        } else {
          try {
            Transformers.apply(transformers, b, this::enqueue);
          } catch (RuntimeException e) {
            failed(e);
            return;
          }
        }
      }
      if (queue.isEmpty()) {
        if (sourceEnded) {
          finish();
        }
        return; // the source wakes us
      }
      if (!write()) {
        return; // the channel's write listener drives on
      }
    }
  }

  private void enqueue(ByteBuffer b) {
    if (b.hasRemaining()) {
      queue.add(b);
      queued += b.remaining();
    }
  }

  /** Writes what is queued; false when the client cannot take more now. */
  private boolean write() {
    if (out == null) {
      openChannel();
    }
    while (!queue.isEmpty()) {
      long written;
      try {
        written = GatheringWrite.write(out, queue, GatheringWrite::self);
      } catch (IOException e) {
        clientFailed(e);
        return false;
      }
      queued -= written;
      ex.addResponseBodyBytes(written);
      ByteBuffer b;
      while ((b = queue.peek()) != null && !b.hasRemaining()) {
        queue.poll();
      }
      if (written > 0) {
        lastProgressNanos = System.nanoTime();
      } else if (!queue.isEmpty()) {
        awaitingWritable = true;
        out.resumeWrites();
        armTimer();
        return false;
      }
    }
    return true;
  }

  private void finish() {
    done = true;
    closeSource();
    cancelTimer();
    if (out == null) {
      openChannel(); // an empty body
    }
    try {
      out.shutdownWrites();
      if (!out.flush()) {
        out.getWriteSetter().set(ChannelListeners.flushingChannelListener(ch -> hse.endExchange(),
            (ch, e) -> clientFailed(e)));
        out.resumeWrites();
        return;
      }
    } catch (IOException e) {
      clientFailed(e);
      return;
    }
    hse.endExchange();
  }

  private void failed(RuntimeException e) {
    log.debug("{}: response body source failed: {}", ex, e.toString());
    if (out == null && !hse.isResponseStarted()) {
      // nothing sent yet: the client can still get the error handler's answer
      done = true;
      queue.clear();
      queued = 0;
      closeSource();
      cancelTimer();
      ex.engine().respondWithError(ex, e, ErrorHandler.Phase.RESPONSE);
      return;
    }
    abort();
  }

  private void clientFailed(IOException e) {
    log.debug("{}: client connection failed: {}", ex, e.toString());
    abort();
  }

  private void abort() {
    done = true;
    queue.clear();
    queued = 0;
    closeSource();
    cancelTimer();
    ex.abortClient(out);
  }

  private void closeSource() {
    try {
      source.close();
    } catch (RuntimeException e) {
      log.warn("{}: closing the response body source failed", ex, e);
    }
  }

  /** A client that takes nothing for idleTimeout is given up. */
  private void armTimer() {
    if (timer == null) {
      schedule(ex.engine().config().idleTimeout().toNanos());
    }
  }

  private void schedule(long delayNanos) {
    timer = hse.getIoThread().executeAfter(() -> {
      timer = null;
      if (done || !awaitingWritable) {
        return;
      }
      long idle = ex.engine().config().idleTimeout().toNanos();
      long waited = System.nanoTime() - lastProgressNanos;
      if (waited >= idle) {
        log.debug("{}: client took nothing for idleTimeout; closing", ex);
        abort();
      } else {
        schedule(idle - waited);
      }
    }, Math.max(1_000_000, delayNanos), TimeUnit.NANOSECONDS);
  }

  private void cancelTimer() {
    if (timer != null) {
      timer.remove();
      timer = null;
    }
  }
}
