package dev.gatehouse.proxy.internal.upstream;

import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import org.xnio.ChannelListener;
import org.xnio.ChannelListeners;
import org.xnio.channels.StreamSinkChannel;

/**
 * The client side of a {@link ResponseStreamer}: the body slices read ahead wait here until the client
 * takes them, and leave in gathering writes. It takes the response channel (which sends the head) only
 * when there is something to write or the body is over, finishes the response when the upstream is done,
 * and cuts the client off on a failure: after delivering what it holds when the response has started
 * (the client sees a truncated message, never a complete-looking one). It is the channel's write
 * listener itself.
 */
final class ClientWriter implements ChannelListener<StreamSinkChannel> {
  private final ResponseStreamer streamer;
  private final UpstreamCall call;
  private final ExchangeImpl ex;
  private final HttpServerExchange hse;
  private final ArrayDeque<Out> queue = new ArrayDeque<>(8);
  private long queuedBytes;
  private StreamSinkChannel out;
  private boolean awaitingWritable;
  private boolean done;
  private boolean failAfterDrain;
  private boolean writeScheduled;
  /** Made on first use: only HTTP/2 upstreams schedule writes. */
  private Runnable scheduledWrite;

  ClientWriter(ResponseStreamer streamer, UpstreamCall call, ExchangeImpl ex) {
    this.streamer = streamer;
    this.call = call;
    this.ex = ex;
    this.hse = ex.hse();
  }

  /** Bytes waiting for the client. */
  long queuedBytes() {
    return queuedBytes;
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  /** Whether the client has not taken what was written (a slow reader). */
  boolean awaitingWritable() {
    return awaitingWritable;
  }

  /** Whether the response has started towards the client (the channel was taken, or Undertow sent the head). */
  boolean started() {
    return out != null || hse.isResponseStarted();
  }

  /** Whether the client is gone, or was cut off, or has the whole response. */
  boolean done() {
    return done;
  }

  /** Queues a slice; {@code owner} (the segment it lives in, or null) is released once it is written. */
  void enqueue(ByteBuffer data, ResponseStreamer.Segment owner) {
    if (owner != null) {
      owner.refs++;
    }
    queue.add(new Out(data, owner));
    queuedBytes += data.remaining();
  }

  /** Drops what is queued (the client is gone or the response is given up). */
  void drop() {
    Out o;
    while ((o = queue.poll()) != null) {
      if (o.owner != null) {
        o.owner.release();
      }
    }
    queuedBytes = 0;
  }

  /** Sends the head now: the body is slow to come (a streaming upstream). False if the client failed. */
  boolean sendHead() {
    openChannel(false);
    try {
      out.flush();
      return true;
    } catch (IOException e) {
      clientFailed(e);
      return false;
    }
  }

  /**
   * Takes the response channel, which commits the head; with {@code exactLength} the whole body is
   * queued and its length is declared.
   */
  private void openChannel(boolean exactLength) {
    if (out != null) {
      return;
    }
    if (exactLength) {
      hse.getResponseHeaders().put(Headers.CONTENT_LENGTH, queuedBytes);
    }
    out = hse.getResponseChannel();
    out.getWriteSetter().set(this);
  }

  @Override
  public void handleEvent(StreamSinkChannel channel) {
    awaitingWritable = false;
    write();
  }

  /** Writes now, or (HTTP/2 upstreams) at the end of the I/O thread's round; nothing while the client is slow. */
  void writeSoon(boolean batch) {
    if (awaitingWritable) {
      return;
    }
    if (batch) {
      scheduleWrite();
    } else {
      write();
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
      write();
    }
  }

  /** Writes what is queued; finishes the response once the upstream is done and all is written. */
  void write() {
    if (streamer.isReleased()) {
      return;
    }
    if (streamer.discarding()) {
      drop(); // the body is read without the client (nobody's response, or the client left)
      streamer.discarded();
      return;
    }
    if (done) {
      return;
    }
    if (out == null) {
      if (queue.isEmpty() && !streamer.upstreamDone()) {
        return;
      }
      openChannel(streamer.mayDeclareLength() && streamer.upstreamDone());
    }
    while (!queue.isEmpty()) {
      long written;
      try {
        written = GatheringWrite.write(out, queue, Out::data);
      } catch (IOException e) {
        clientFailed(e);
        return;
      }
      queuedBytes -= written;
      ex.addResponseBodyBytes(written);
      Out o;
      while ((o = queue.peek()) != null && !o.data.hasRemaining()) {
        queue.poll();
        if (o.owner != null) {
          o.owner.release();
        }
      }
      if (written > 0) {
        call.timeouts().touchClient();
      }
      if (!queue.isEmpty() && written == 0) {
        if (!awaitingWritable) {
          call.timeouts().touchClient();
        }
        awaitingWritable = true;
        out.resumeWrites();
        streamer.resumeUpstreamIfRoom();
        return;
      }
    }
    if (failAfterDrain) {
      try {
        if (!out.flush()) {
          if (!awaitingWritable) {
            call.timeouts().touchClient();
          }
          awaitingWritable = true;
          out.resumeWrites();
          return;
        }
      } catch (IOException e) {
        // closing anyway
      }
      abort();
      return;
    }
    if (streamer.upstreamDone()) {
      finish();
      return;
    }
    streamer.resumeUpstreamIfRoom();
  }

  private void finish() {
    done = true;
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
    streamer.release();
    hse.endExchange();
  }

  /** The upstream failed after the response started: deliver what is held, then cut the connection. */
  void failAfterDrain() {
    if (queue.isEmpty() || out == null) {
      abort();
      return;
    }
    // the client sees a truncated message
    failAfterDrain = true;
    if (!awaitingWritable) {
      write();
    }
  }

  /** Whether the writer waits for the client to drain before it cuts the connection. */
  boolean failing() {
    return failAfterDrain;
  }

  private void clientFailed(IOException e) {
    done = true;
    if (streamer.continueWithoutClient()) {
      return;
    }
    call.clientGone(e);
    abort();
  }

  /** The client read nothing for idleTimeout: give up on it. */
  void clientTimedOut() {
    done = true;
  }

  /** Ends the client's response abnormally: the connection (HTTP/1.x) or the stream (HTTP/2) is closed. */
  void abort() {
    streamer.release();
    ex.abortClient(out);
  }

  /** Cuts the client off, keeping the upstream side going (the body is still wanted without the client). */
  void detach() {
    drop();
    awaitingWritable = false;
    ex.abortClient(out); // may end the client's exchange at once: the call stays, detached
  }

  /** One slice for the client and the segment it lives in (null when it owns its bytes). */
  private static final class Out {
    final ByteBuffer data;
    final ResponseStreamer.Segment owner;

    Out(ByteBuffer data, ResponseStreamer.Segment owner) {
      this.data = data;
      this.owner = owner;
    }

    ByteBuffer data() {
      return data;
    }
  }
}
