package dev.gatehouse.proxy.internal.pool;

import dev.gatehouse.proxy.UpstreamUnavailableException;
import dev.gatehouse.proxy.internal.h2.H2Sessions;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.PoolSettings;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

/**
 * Keep-alive connections to one upstream address. Each I/O thread has its own idle stack and wait
 * queue, touched only from that thread, so taking and returning a connection needs no lock; the
 * connection, idle and pending limits are shared counters.
 */
public final class HostPool {
  private static final Logger log = LoggerFactory.getLogger(HostPool.class);

  /** Receives a connection or the reason there is none; called on the requesting I/O thread. */
  public interface Acquirer {
    void onConnection(UpstreamConnection connection, boolean reused);

    void onConnectFailure(RuntimeException failure);

    /** How long this request may wait for a connection (to connect, or queued for a free one). */
    long connectTimeoutMillis();
  }

  private final Endpoint endpoint;
  private final PoolSettings settings;
  private final Executor resolver;
  private final PerThread[] threads;
  private final AtomicInteger total = new AtomicInteger();
  private final AtomicInteger idle = new AtomicInteger();
  private final AtomicInteger pending = new AtomicInteger();
  private final long keepAliveNanos;
  /** HTTP/2 sessions when the settings ask for HTTP/2, else null. */
  private final H2Sessions h2;
  private volatile boolean closed;
  private volatile long lastUsedNanos = System.nanoTime();

  public HostPool(Endpoint endpoint, PoolSettings settings, Executor resolver, int ioThreads) {
    this.endpoint = endpoint;
    this.settings = settings;
    this.resolver = resolver;
    this.threads = new PerThread[ioThreads];
    for (int i = 0; i < ioThreads; i++) {
      threads[i] = new PerThread();
    }
    this.keepAliveNanos = settings.keepAlive().toNanos();
    this.h2 = settings.http2() ? new H2Sessions(endpoint, settings, resolver, ioThreads) : null;
  }

  /** The HTTP/2 sessions, or null when this pool speaks HTTP/1.1 only. */
  public H2Sessions h2() {
    return h2;
  }

  public Endpoint endpoint() {
    return endpoint;
  }

  /** Most idle connections kept; 0 means each connection is closed after one request. */
  public int maxIdle() {
    return settings.maxIdle();
  }

  int openConnections() {
    return total.get();
  }

  int idleConnections() {
    return idle.get();
  }

  /** A snapshot for {@link dev.gatehouse.proxy.ProxyStatus}. */
  public dev.gatehouse.proxy.ProxyStatus.Pool status() {
    return new dev.gatehouse.proxy.ProxyStatus.Pool(endpoint.key(), total.get() + (h2 == null ? 0 : h2.openConnections()),
        idle.get(), pending.get(), h2 != null);
  }

  /** Whether the pool holds nothing and was not used for {@code idleNanos}. */
  public boolean isUnused(long now, long idleNanos) {
    return total.get() == 0 && pending.get() == 0 && (h2 == null || h2.openConnections() == 0)
        && now - lastUsedNanos > idleNanos;
  }

  /** Handle to withdraw a queued request. */
  public static final class Waiter {
    final Acquirer acquirer;
    final XnioIoThread thread;
    XnioExecutor.Key timer;
    boolean cancelled;

    Waiter(Acquirer acquirer, XnioIoThread thread) {
      this.acquirer = acquirer;
      this.thread = thread;
    }

    void cancel() {
      cancelled = true;
      if (timer != null) {
        timer.remove();
      }
    }
  }

  /** Must run on {@code thread}. Returns a waiter when the request had to queue, else null. */
  public Waiter acquire(XnioIoThread thread, Acquirer acquirer) {
    PerThread pt = threads[thread.getNumber()];
    pt.thread = thread;
    lastUsedNanos = System.nanoTime();
    UpstreamConnection c;
    while ((c = pt.idle.pollFirst()) != null) {
      idle.decrementAndGet();
      if (c.isOpen()) {
        c.leaveIdle();
        c.uses++;
        acquirer.onConnection(c, true);
        return null;
      }
      c.idle = false;
      c.close();
    }
    if (closed) {
      acquirer.onConnectFailure(new UpstreamUnavailableException("proxy is shutting down"));
      return null;
    }
    if (reserve()) {
      open(thread, acquirer);
      return null;
    }
    if (pending.incrementAndGet() > settings.maxPending()) {
      pending.decrementAndGet();
      acquirer.onConnectFailure(new UpstreamUnavailableException("upstream " + endpoint + ": "
          + settings.maxConnections() + " connections busy and " + settings.maxPending()
          + " requests queued (upstreamMaxConnections, upstreamMaxPending, or the group's per-server limits)"));
      return null;
    }
    Waiter w = new Waiter(acquirer, thread);
    pt.waiters.add(w);
    pt.waiting.incrementAndGet();
    if (idle.get() > 0) {
      closeIdleElsewhere(thread);
    }
    w.timer = thread.executeAfter(() -> {
      if (!w.cancelled && pt.waiters.remove(w)) {
        pending.decrementAndGet();
        pt.waiting.decrementAndGet();
        w.cancelled = true;
        acquirer.onConnectFailure(new UpstreamUnavailableException("upstream " + endpoint
            + ": no connection free within connectTimeout " + java.time.Duration.ofMillis(acquirer.connectTimeoutMillis())));
      }
    }, acquirer.connectTimeoutMillis(), TimeUnit.MILLISECONDS);
    return w;
  }

  /**
   * At the connection limit with connections idle on other I/O threads (each thread keeps its own idle
   * connections): one of them closes its oldest idle connection so that the slot serves this thread's
   * queue instead of waiting for a keep-alive timeout.
   */
  private void closeIdleElsewhere(XnioIoThread self) {
    for (PerThread other : threads) {
      XnioIoThread t = other.thread;
      if (t != null && t != self && !other.idle.isEmpty()) { // a racy read, only a hint
        t.execute(() -> {
          UpstreamConnection c = other.idle.pollLast();
          if (c != null) {
            idle.decrementAndGet();
            c.idle = false;
            c.close();
          }
        });
        return;
      }
    }
  }

  /** Withdraws a queued request (its exchange went away). */
  public void withdraw(Waiter w) {
    if (!w.cancelled) {
      w.cancel();
      PerThread pt = threads[w.thread.getNumber()];
      if (pt.waiters.remove(w)) {
        pending.decrementAndGet();
        pt.waiting.decrementAndGet();
      }
    }
  }

  private boolean reserve() {
    int max = settings.maxConnections();
    for (;;) {
      int n = total.get();
      if (n >= max) {
        return false;
      }
      if (total.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  private void open(XnioIoThread thread, Acquirer acquirer) {
    Connector.connect(thread, endpoint, settings.tls(), acquirer.connectTimeoutMillis(), resolver,
        new Connector.Callback() {
          @Override
          public void connected(StreamConnection sc) {
            if (closed) {
              org.xnio.IoUtils.safeClose(sc);
              unreserve();
              acquirer.onConnectFailure(new UpstreamUnavailableException("proxy is shutting down"));
              return;
            }
            UpstreamConnection c = new UpstreamConnection(sc, HostPool.this);
            c.uses = 1;
            acquirer.onConnection(c, false);
          }

          @Override
          public void failed(RuntimeException failure) {
            unreserve();
            acquirer.onConnectFailure(failure);
          }
        });
  }

  private void unreserve() {
    total.decrementAndGet();
    slotFreed();
  }

  /** Called by a connection when it closes, on any path. */
  void connectionClosed(UpstreamConnection c) {
    if (c.idle) {
      c.idle = false;
      if (threads[c.thread.getNumber()].idle.remove(c)) {
        idle.decrementAndGet();
      }
    }
    total.decrementAndGet();
    slotFreed();
  }

  /** A connection slot came free: let a thread with queued requests open a connection. */
  private void slotFreed() {
    if (pending.get() == 0 || closed) {
      return;
    }
    for (PerThread pt : threads) {
      XnioIoThread t = pt.thread;
      if (pt.waiting.get() > 0 && t != null) {
        t.execute(() -> serveWaiters(pt));
      }
    }
  }

  private void serveWaiters(PerThread pt) {
    Waiter w;
    while ((w = pt.waiters.peek()) != null) {
      if (w.cancelled) {
        pt.waiters.poll();
        pt.waiting.decrementAndGet();
        continue;
      }
      if (!reserve()) {
        return;
      }
      pt.waiters.poll();
      pt.waiting.decrementAndGet();
      pending.decrementAndGet();
      w.cancel();
      open(w.thread, w.acquirer);
    }
  }

  /** Returns a connection after a request; must run on the connection's thread. */
  public void release(UpstreamConnection c) {
    if (!c.reusable() || !c.isOpen() || closed) {
      c.close();
      return;
    }
    PerThread pt = threads[c.thread.getNumber()];
    Waiter w;
    while ((w = pt.waiters.poll()) != null) {
      pt.waiting.decrementAndGet();
      if (!w.cancelled) {
        pending.decrementAndGet();
        w.cancel();
        c.uses++;
        w.acquirer.onConnection(c, true);
        return;
      }
    }
    if (pending.get() > 0 || idle.get() >= settings.maxIdle()) {
      c.close(); // frees the slot for a request queued on another thread, or keeps the idle bound
      return;
    }
    idle.incrementAndGet();
    c.enterIdle();
    pt.idle.addFirst(c);
    scheduleSweep(c.thread, pt);
  }

  void removeIdle(UpstreamConnection c) {
    if (threads[c.thread.getNumber()].idle.remove(c)) {
      idle.decrementAndGet();
    }
    c.idle = false;
  }

  private void scheduleSweep(XnioIoThread thread, PerThread pt) {
    if (pt.sweepScheduled) {
      return;
    }
    pt.sweepScheduled = true;
    thread.executeAfter(() -> sweep(thread, pt), Math.max(1, keepAliveNanos / 1_000_000), TimeUnit.MILLISECONDS);
  }

  /** Closes connections idle longer than the keep-alive timeout (oldest are at the tail). */
  private void sweep(XnioIoThread thread, PerThread pt) {
    pt.sweepScheduled = false;
    long now = System.nanoTime();
    Iterator<UpstreamConnection> it = pt.idle.descendingIterator();
    while (it.hasNext()) {
      UpstreamConnection c = it.next();
      if (now - c.idleSinceNanos >= keepAliveNanos) {
        it.remove();
        idle.decrementAndGet();
        c.idle = false;
        c.close();
      } else {
        break;
      }
    }
    if (!pt.idle.isEmpty()) {
      pt.sweepScheduled = true;
      long wait = keepAliveNanos - (now - pt.idle.peekLast().idleSinceNanos);
      thread.executeAfter(() -> sweep(thread, pt), Math.max(1, wait / 1_000_000), TimeUnit.MILLISECONDS);
    }
  }

  /** Closes idle connections; in-flight ones close with their exchanges or the worker. */
  public void close() {
    closed = true;
    if (h2 != null) {
      h2.close();
    }
    for (PerThread pt : threads) {
      XnioIoThread t = pt.thread;
      if (t != null) {
        t.execute(() -> {
          UpstreamConnection x;
          while ((x = pt.idle.pollFirst()) != null) {
            idle.decrementAndGet();
            x.idle = false;
            x.close();
          }
        });
      }
    }
    if (log.isDebugEnabled()) {
      log.debug("closed pool for {}", endpoint);
    }
  }

  private static final class PerThread {
    final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    final AtomicInteger waiting = new AtomicInteger();
    volatile XnioIoThread thread;
    boolean sweepScheduled;
  }
}
