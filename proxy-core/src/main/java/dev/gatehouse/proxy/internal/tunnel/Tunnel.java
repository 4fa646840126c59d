package dev.gatehouse.proxy.internal.tunnel;

import dev.gatehouse.proxy.internal.upstream.BufferBudget;
import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;
import org.xnio.conduits.ConduitStreamSinkChannel;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * Pipes bytes both ways between two connections that share one I/O thread: a {@code CONNECT} tunnel
 * (client and destination) or an upgraded connection (client and upstream, e.g. WebSocket). It knows
 * nothing of HTTP.
 *
 * <ul>
 *   <li><b>Bounded</b>: one pooled buffer per direction, and during a bulk transfer up to three more,
 *       each charged to the proxy-wide {@link BufferBudget} (none when it is spent). When the receiving
 *       side cannot take more, the sending side is not read until it can (TCP backpressure end to end),
 *       so memory stays bounded whatever the volume.
 *   <li><b>Half-close</b>: end of stream from one side is passed on as a write shutdown (FIN) to the
 *       other; the opposite direction keeps flowing until it ends too. Then both connections close.
 *   <li><b>Errors</b>: a read or write failure on either side closes both at once.
 *   <li><b>Idle timeout</b>: no byte in either direction for that long closes both.
 * </ul>
 *
 * <p>Everything runs on the connections' I/O thread; {@link #close()} may be called from any thread.
 * The listener is called exactly once, on the I/O thread, after both connections are closed. The
 * tunnel does not take over the connections' close listeners (a pooled upstream connection keeps its
 * own): it learns of an end through reads and writes.
 */
public final class Tunnel {
  private static final Logger log = LoggerFactory.getLogger(Tunnel.class);

  /** Told once when the tunnel has ended. */
  @FunctionalInterface
  public interface Listener {
    /**
     * @param tunnel the tunnel
     * @param bytesAtoB bytes read from {@code a} and written to {@code b}
     * @param bytesBtoA bytes read from {@code b} and written to {@code a}
     * @param reason why it ended: {@code "closed"} (both sides finished), {@code "idle"}, {@code
     *     "error: ..."} or {@code "shutdown"}
     */
    void ended(Tunnel tunnel, long bytesAtoB, long bytesBtoA, String reason);
  }

  private final StreamConnection a;
  private final StreamConnection b;
  private final XnioIoThread thread;
  private final long idleNanos;
  private final Listener listener;
  private final Pipe aToB;
  private final Pipe bToA;
  private long lastActivity;
  private final BufferBudget budget;
  private XnioExecutor.Key idleTimer;
  private boolean ended;

  private Tunnel(StreamConnection a, StreamConnection b, ByteBufferPool pool, BufferBudget budget,
      long idleTimeoutMillis, Listener listener) {
    this.budget = budget;
    this.a = a;
    this.b = b;
    this.thread = a.getIoThread();
    this.idleNanos = TimeUnit.MILLISECONDS.toNanos(idleTimeoutMillis);
    this.listener = listener;
    this.aToB = new Pipe(a.getSourceChannel(), b.getSinkChannel(), pool);
    this.bToA = new Pipe(b.getSourceChannel(), a.getSinkChannel(), pool);
  }

  /**
   * Starts piping; must be called on the I/O thread of both connections.
   *
   * @param a one side (e.g. the client)
   * @param b the other side (e.g. the destination)
   * @param pool where the two transfer buffers come from
   * @param budget what a direction's buffers beyond its first are charged to (bulk transfers)
   * @param pendingToB bytes already read from {@code a} that belong to {@code b} (or null)
   * @param pendingToA bytes already read from {@code b} that belong to {@code a} (or null), e.g. what
   *     followed a parent proxy's {@code 200} response head
   * @param idleTimeoutMillis close both after this long without traffic; 0 for never
   * @param listener told when the tunnel has ended
   * @throws IllegalArgumentException if the connections run on different I/O threads
   */
  public static Tunnel start(StreamConnection a, StreamConnection b, ByteBufferPool pool, BufferBudget budget,
      ByteBuffer pendingToB, ByteBuffer pendingToA, long idleTimeoutMillis, Listener listener) {
    Objects.requireNonNull(listener, "listener");
    Objects.requireNonNull(budget, "budget");
    if (a.getIoThread() != b.getIoThread()) {
      throw new IllegalArgumentException("tunnel ends on different I/O threads: " + a.getIoThread().getName()
          + " and " + b.getIoThread().getName() + " (expected: one thread)");
    }
    Tunnel t = new Tunnel(a, b, pool, budget, idleTimeoutMillis, listener);
    t.begin(pendingToB, pendingToA);
    return t;
  }

  private void begin(ByteBuffer pendingToB, ByteBuffer pendingToA) {
    disableTimeouts(a);
    disableTimeouts(b);
    lastActivity = System.nanoTime();
    if (idleNanos > 0) {
      idleTimer = thread.executeAfter(this::checkIdle, idleNanos, TimeUnit.NANOSECONDS);
    }
    aToB.begin(pendingToB);
    if (!ended) {
      bToA.begin(pendingToA);
    }
  }

  /**
   * Takes the connection out of the listener's read/write timeouts: the tunnel has its own idle
   * timeout over both directions. Without this, a client that only receives (a download through a
   * tunnel) would be cut off by its own read timeout.
   */
  private static void disableTimeouts(StreamConnection c) {
    try {
      c.getSourceChannel().suspendReads(); // also cancels Undertow's pending read-timeout timer
      c.setOption(Options.READ_TIMEOUT, 0);
      c.setOption(Options.WRITE_TIMEOUT, 0);
    } catch (IOException | IllegalArgumentException e) {
      log.debug("cannot clear timeouts on {}: {}", c, e.toString());
    }
  }

  /** Bytes moved from {@code a} to {@code b} so far. */
  public long bytesAtoB() {
    return aToB.bytes;
  }

  /** Bytes moved from {@code b} to {@code a} so far. */
  public long bytesBtoA() {
    return bToA.bytes;
  }

  /** Closes both sides; may be called from any thread. */
  public void close() {
    close("shutdown");
  }

  /** Closes both sides with {@code reason}; may be called from any thread. */
  public void close(String reason) {
    if (Thread.currentThread() == thread) {
      end(reason);
    } else {
      thread.execute(() -> end(reason));
    }
  }

  /** Whether the tunnel has ended. Only meaningful on the I/O thread. */
  public boolean isEnded() {
    return ended;
  }

  private void checkIdle() {
    idleTimer = null;
    if (ended) {
      return;
    }
    long idle = System.nanoTime() - lastActivity;
    if (idle >= idleNanos) {
      end("idle");
      return;
    }
    idleTimer = thread.executeAfter(this::checkIdle, idleNanos - idle, TimeUnit.NANOSECONDS);
  }

  private void maybeFinished() {
    if (aToB.finished && bToA.finished) {
      end("closed");
    }
  }

  private void end(String reason) {
    if (ended) {
      return;
    }
    ended = true;
    if (idleTimer != null) {
      idleTimer.remove();
      idleTimer = null;
    }
    aToB.release();
    bToA.release();
    IoUtils.safeClose(a);
    IoUtils.safeClose(b);
    try {
      listener.ended(this, aToB.bytes, bToA.bytes, reason);
    } catch (RuntimeException e) {
      log.warn("tunnel listener failed", e);
    }
  }

  @Override
  public String toString() {
    return "Tunnel(" + a.getPeerAddress() + " <-> " + b.getPeerAddress() + ")";
  }

  /**
   * One direction. It starts with one pooled buffer; while reads keep filling every buffer it has
   * (a bulk transfer), it takes more, up to {@link #MAX_BUFFERS}, each charged to the budget (none
   * when the budget is spent), and reads and writes them with one scatter/gather call each; once the
   * flow pauses it gives the extra buffers back. An interactive tunnel thus holds one buffer per
   * direction and a bulk one moves up to 64 KiB per system call (with 16 KiB buffers).
   */
  private final class Pipe {
    /** Eight measured no faster than four (alternating CONNECT runs, see BENCHMARKS.md). */
    private static final int MAX_BUFFERS = 4;
    private final ConduitStreamSourceChannel from;
    private final ConduitStreamSinkChannel to;
    private final ByteBufferPool pool;
    private final PooledByteBuffer[] pooled = new PooledByteBuffer[MAX_BUFFERS];
    /** Exactly {@code count} long: some conduits (TLS) look at every element of the array they get. */
    private ByteBuffer[] buffers = new ByteBuffer[0];
    private int count;
    /** Bytes already read from elsewhere, sent before anything else (may exceed the buffers). */
    private ByteBuffer pending;
    /** The buffers hold unwritten data: {@code held} bytes of it. */
    private boolean holding;
    private long held;
    /** Bytes of this direction's buffers charged to the budget (all but the first). */
    private long charged;
    private boolean eof;
    /** End of stream passed on and flushed. */
    boolean finished;
    long bytes;

    Pipe(ConduitStreamSourceChannel from, ConduitStreamSinkChannel to, ByteBufferPool pool) {
      this.from = from;
      this.to = to;
      this.pool = pool;
    }

    void begin(ByteBuffer pendingBytes) {
      grow();
      from.getReadSetter().set(ch -> pump());
      to.getWriteSetter().set(ch -> pump());
      if (pendingBytes != null && pendingBytes.hasRemaining()) {
        pending = pendingBytes;
      }
      pump();
    }

    /** Adds a buffer; beyond the first only if the budget has room for it. */
    private void grow() {
      if (count > 0) {
        long size = buffers[0].capacity();
        if (!budget.tryReserve(size)) {
          return;
        }
        charged += size;
      }
      PooledByteBuffer p = pool.allocate();
      pooled[count] = p;
      buffers = java.util.Arrays.copyOf(buffers, count + 1);
      buffers[count] = p.getBuffer();
      buffers[count].clear();
      count++;
    }

    private void shrink() {
      if (count <= 1) {
        return;
      }
      while (count > 1) {
        count--;
        pooled[count].close();
        pooled[count] = null;
      }
      buffers = new ByteBuffer[] {buffers[0]};
      budget.release(charged);
      charged = 0;
    }

    void pump() {
      if (ended) {
        return;
      }
      try {
        for (;;) {
          if (pending != null) {
            while (pending.hasRemaining()) {
              int n = to.write(pending);
              if (n == 0) {
                from.suspendReads();
                to.resumeWrites();
                return;
              }
              bytes += n;
              lastActivity = System.nanoTime();
            }
            pending = null;
          }
          if (holding && !writeHeld()) {
            return;
          }
          if (eof) {
            if (!to.flush()) {
              to.resumeWrites();
              return;
            }
            to.suspendWrites();
            finished = true;
            maybeFinished();
            return;
          }
          for (int i = 0; i < count; i++) {
            buffers[i].clear();
          }
          long n = count == 1 ? from.read(buffers[0]) : from.read(buffers, 0, count);
          if (n == 0) {
            shrink(); // the flow paused: keep one buffer only
            if (!to.flush()) {
              to.resumeWrites();
            } else {
              to.suspendWrites();
            }
            from.resumeReads();
            return;
          }
          if (n < 0) {
            eof = true;
            shrink(); // nothing more to read: the extra buffers go back now, not when the other way ends
            from.suspendReads();
            to.shutdownWrites();
            continue;
          }
          boolean full = !buffers[count - 1].hasRemaining();
          for (int i = 0; i < count; i++) {
            buffers[i].flip();
          }
          holding = true;
          held = n;
          lastActivity = System.nanoTime();
          if (full && count < MAX_BUFFERS) {
            // every buffer filled: a bulk transfer, so read more per call from now on; the new buffer
            // is added once this data is written, so that it never sits between filled ones
            writeThenGrow();
            if (ended || holding) {
              return;
            }
          }
        }
      } catch (IOException e) {
        end("error: " + e.getMessage());
      }
    }

    /** Writes what is held; false (reads paused, write listener on) if the other side cannot take it all. */
    private boolean writeHeld() throws IOException {
      while (held > 0) {
        long n = to.write(buffers, 0, count);
        if (n == 0) {
          from.suspendReads();
          to.resumeWrites();
          return false;
        }
        bytes += n;
        held -= n;
        lastActivity = System.nanoTime();
      }
      holding = false;
      return true;
    }

    /** Writes what is held, then adds a buffer; if the write blocks, the growth waits for the next read. */
    private void writeThenGrow() throws IOException {
      if (writeHeld()) {
        grow();
      }
    }

    void release() {
      from.getReadSetter().set(null);
      to.getWriteSetter().set(null);
      for (int i = 0; i < count; i++) {
        pooled[i].close();
        pooled[i] = null;
      }
      buffers = new ByteBuffer[0];
      count = 0;
      budget.release(charged);
      charged = 0;
    }
  }
}
