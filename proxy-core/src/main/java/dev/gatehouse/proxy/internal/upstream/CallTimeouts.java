package dev.gatehouse.proxy.internal.upstream;

import dev.gatehouse.proxy.ClientTimeoutException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.internal.pool.UpstreamConnection;
import dev.gatehouse.proxy.internal.server.CoreConfig;
import dev.gatehouse.proxy.spi.CallOptions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

/**
 * The clocks of one {@link UpstreamCall}, all on {@link System#nanoTime()} (they are I/O timers):
 *
 * <ul>
 *   <li><b>readTimeout</b>: the upstream owes bytes (a response, the next body bytes) and sent none;
 *   <li><b>writeTimeout</b>: the upstream takes no request bytes;
 *   <li><b>idleTimeout</b>: the client neither sends the body it owes nor reads what it is sent;
 *   <li><b>tryTimeout</b>: no response head this long after the start (a timer of its own);
 *   <li><b>the total deadline</b>: the whole response not read by then (the same timer).
 * </ul>
 *
 * The first three are checked by one timer that the transport drives: the connection's own timer for
 * HTTP/1.1 (rescheduled lazily, so requests cause no timer churn), a timer per stream for HTTP/2. A
 * timeout fails the call before the response head, or the streaming after it.
 */
public final class CallTimeouts implements UpstreamConnection.User {
  private final UpstreamCall call;
  private final XnioIoThread thread;
  private final long readNanos;
  private final long writeNanos;
  private final long tryNanos;
  private final long idleNanos;
  private final Duration idleTimeout;
  private final long connectMillis;
  /** {@link System#nanoTime()} by which the whole response must be in, 0 for none. */
  private final long deadlineNanos;
  private final long startNanos = System.nanoTime();
  private XnioExecutor.Key deadlineTimer;
  private long lastUpstreamNanos;
  private long lastClientNanos;

  CallTimeouts(UpstreamCall call, XnioIoThread thread, CallOptions options, CoreConfig config) {
    this.call = call;
    this.thread = thread;
    this.readNanos = (options.readTimeout() != null ? options.readTimeout() : config.readTimeout()).toNanos();
    this.writeNanos = options.writeTimeout() != null ? options.writeTimeout().toNanos() : readNanos;
    this.tryNanos = options.tryTimeout() != null ? options.tryTimeout().toNanos() : 0;
    this.connectMillis = Math.max(1, (options.connectTimeout() != null ? options.connectTimeout()
        : config.connectTimeout()).toMillis());
    this.idleTimeout = config.idleTimeout();
    this.idleNanos = idleTimeout.toNanos();
    this.deadlineNanos = options.deadlineNanos();
  }

  /** How long the call may wait for a connection (to connect, or queued for a free one). */
  public long connectTimeoutMillis() {
    return connectMillis;
  }

  /** The read timeout in nanoseconds, 0 for none (an upgraded connection's tunnel idles as long). */
  long readTimeoutNanos() {
    return readNanos;
  }

  /** Starts the try timeout and the total deadline, whichever comes first. */
  void start() {
    long wait = Long.MAX_VALUE;
    if (tryNanos > 0) {
      wait = tryNanos;
    }
    if (deadlineNanos != 0) {
      wait = Math.min(wait, Math.max(0, deadlineNanos - startNanos));
    }
    if (wait != Long.MAX_VALUE) {
      deadlineTimer = thread.executeAfter(this::onDeadline, Math.max(1_000_000, wait), TimeUnit.NANOSECONDS);
    }
  }

  /** The try timeout or the total deadline passed. */
  private void onDeadline() {
    deadlineTimer = null;
    if (call.isOver()) {
      return;
    }
    long now = System.nanoTime();
    boolean total = deadlineNanos != 0 && now - deadlineNanos >= 0;
    if (!total && call.hasResponse()) {
      // the try timeout covers the wait for the head only; the deadline may still come
      if (deadlineNanos != 0) {
        deadlineTimer = thread.executeAfter(this::onDeadline, Math.max(1_000_000, deadlineNanos - now),
            TimeUnit.NANOSECONDS);
      }
      return;
    }
    call.upstreamTimedOut(total
        ? new UpstreamTimeoutException("upstream " + call.endpoint() + " did not complete the response within the "
            + "total timeout")
        : new UpstreamTimeoutException("upstream " + call.endpoint() + " sent no response head within tryTimeout "
            + Duration.ofNanos(tryNanos)));
  }

  /** The response head arrived: the try timeout stops (the total deadline, if any, goes on). */
  void headArrived() {
    if (tryNanos > 0 && deadlineTimer != null && deadlineNanos == 0) {
      cancelDeadline();
    }
  }

  void cancelDeadline() {
    if (deadlineTimer != null) {
      deadlineTimer.remove();
      deadlineTimer = null;
    }
  }

  /** A transport is ready: the waits start now. */
  public void transportReady() {
    long now = System.nanoTime();
    lastUpstreamNanos = now;
    lastClientNanos = now;
  }

  /** Bytes moved to or from the upstream (or the proxy starts waiting on it): the read timeout starts over. */
  public void touch() {
    lastUpstreamNanos = System.nanoTime();
  }

  /** Bytes moved to or from the client (or the proxy starts waiting on it): the idle timeout starts over. */
  public void touchClient() {
    lastClientNanos = System.nanoTime();
  }

  /** The longest the timer may wait between checks. */
  public long checkInterval() {
    long n = idleNanos;
    if (readNanos > 0) {
      n = Math.min(n, readNanos);
    }
    if (writeNanos > 0) {
      n = Math.min(n, writeNanos);
    }
    return n;
  }

  /**
   * Fails the call if the upstream owed bytes for longer than readTimeout (or took none for
   * writeTimeout), or the client for longer than idleTimeout; otherwise returns the nanoseconds until the
   * next check, or -1 when the call is over.
   */
  @Override
  public long checkTimeouts(long now) {
    if (call.isOver()) {
      return -1;
    }
    long next = checkInterval();
    boolean writing = call.writingRequest();
    long limit = writing ? writeNanos : readNanos;
    if (call.waitingForUpstream() && limit > 0) {
      long elapsed = now - lastUpstreamNanos;
      if (elapsed >= limit) {
        call.upstreamTimedOut(writing
            ? new UpstreamTimeoutException("upstream " + call.endpoint() + " accepted no request bytes for "
                + "writeTimeout " + Duration.ofNanos(writeNanos))
            : new UpstreamTimeoutException("upstream " + call.endpoint() + " sent nothing for readTimeout "
                + Duration.ofNanos(readNanos)));
        return -1;
      }
      next = Math.min(next, limit - elapsed);
    } else {
      lastUpstreamNanos = now;
    }
    if (call.waitingForClient()) {
      long elapsed = now - lastClientNanos;
      if (elapsed >= idleNanos) {
        call.clientTimedOut(new ClientTimeoutException("client sent or read nothing for idleTimeout "
            + idleTimeout));
        return -1;
      }
      next = Math.min(next, idleNanos - elapsed);
    } else {
      lastClientNanos = now;
    }
    return Math.max(1_000_000, next);
  }
}
