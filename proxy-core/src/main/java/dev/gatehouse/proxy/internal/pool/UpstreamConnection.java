package dev.gatehouse.proxy.internal.pool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.xnio.ChannelListener;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;
import org.xnio.conduits.ConduitStreamSinkChannel;
import org.xnio.conduits.ConduitStreamSourceChannel;

/** One HTTP/1.1 connection to an upstream, owned by one I/O thread and its pool. */
public final class UpstreamConnection {

  /** The exchange using a connection: its timeouts are checked by the connection's one timer. */
  public interface User {
    /**
     * Checks the user's timeouts at {@code nowNanos}; returns the nanoseconds until the next check, or
     * a value of 0 or less when no more checks are wanted (the user ended).
     */
    long checkTimeouts(long nowNanos);
  }

  private final StreamConnection connection;
  final HostPool pool;
  final XnioIoThread thread;
  private final ConduitStreamSourceChannel source;
  private final ConduitStreamSinkChannel sink;
  /** Cleared when the connection must not carry another request. */
  private boolean reusable = true;
  boolean idle;
  long idleSinceNanos;
  int uses;
  /** The exchange using this connection, or null when idle. */
  private User user;
  private XnioExecutor.Key timer;
  private long timerDueNanos;
  private boolean closed;

  UpstreamConnection(StreamConnection connection, HostPool pool) {
    this.connection = connection;
    this.pool = pool;
    this.thread = connection.getIoThread();
    this.source = connection.getSourceChannel();
    this.sink = connection.getSinkChannel();
    connection.getCloseSetter().set((ChannelListener<StreamConnection>) c -> onClosed());
  }

  /**
   * Makes sure the timeout check runs within {@code delayNanos}; a running timer that is due by then is
   * left alone (one due later, set for a call with longer timeouts, is moved earlier).
   */
  public void ensureTimer(long delayNanos) {
    if (closed) {
      return;
    }
    long due = System.nanoTime() + delayNanos;
    if (timer != null) {
      if (timerDueNanos - due <= 0) {
        return;
      }
      timer.remove();
    }
    timerDueNanos = due;
    timer = thread.executeAfter(this::onTimer, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void onTimer() {
    timer = null;
    User c = user;
    if (c == null || closed) {
      return; // idle: the next call arms it again
    }
    long next = c.checkTimeouts(System.nanoTime());
    if (next > 0 && user == c) {
      ensureTimer(next);
    }
  }

  /** The channel the upstream's bytes are read from. */
  public ConduitStreamSourceChannel source() {
    return source;
  }

  /** The channel the request is written to. */
  public ConduitStreamSinkChannel sink() {
    return sink;
  }

  /** The connection itself, for a tunnel that takes it over after an upgrade. */
  public StreamConnection streamConnection() {
    return connection;
  }

  /** Marks the connection as not to carry another request; it closes instead of going back to the pool. */
  public void dontReuse() {
    reusable = false;
  }

  /** Whether the connection may carry another request. */
  boolean reusable() {
    return reusable;
  }

  /** {@code user} now uses this connection (null: nobody, it is going back to the pool or closing). */
  public void use(User user) {
    this.user = user;
  }

  boolean isOpen() {
    return !closed && connection.isOpen();
  }

  /** Closes the connection; it will not go back to the pool. */
  public void close() {
    reusable = false;
    IoUtils.safeClose(connection);
    onClosed();
  }

  private void onClosed() {
    if (!closed) {
      closed = true;
      if (timer != null) {
        timer.remove();
        timer = null;
      }
      pool.connectionClosed(this);
    }
  }

  /** While idle in the pool, any readable event (EOF, reset or stray bytes) closes the connection. */
  void enterIdle() {
    idle = true;
    idleSinceNanos = System.nanoTime();
    source.getReadSetter().set((ChannelListener<ConduitStreamSourceChannel>) ch -> {
      try {
        int n = ch.read(ByteBuffer.allocate(1));
        if (n == 0) {
          return;
        }
      } catch (IOException ignored) {
        // closed below
      }
      pool.removeIdle(this);
      close();
    });
    sink.getWriteSetter().set(null);
    source.resumeReads();
  }

  void leaveIdle() {
    idle = false;
    source.suspendReads();
    source.getReadSetter().set(null);
  }

  @Override
  public String toString() {
    return "UpstreamConnection(" + pool.endpoint() + " " + connection.getLocalAddress() + ")";
  }
}
