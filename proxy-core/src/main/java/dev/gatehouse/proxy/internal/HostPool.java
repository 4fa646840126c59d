package dev.gatehouse.proxy.internal;

import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.UpstreamUnavailableException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoFuture;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

/**
 * Keep-alive connections to one upstream address. Each I/O thread has its own idle stack and wait
 * queue, touched only from that thread, so taking and returning a connection needs no lock; the
 * connection, idle and pending limits are shared counters.
 */
final class HostPool {
  private static final Logger log = LoggerFactory.getLogger(HostPool.class);
  private static final OptionMap CONNECT_OPTIONS = OptionMap.builder()
      .set(Options.TCP_NODELAY, true)
      .set(Options.KEEP_ALIVE, true)
      .getMap();

  /** Receives a connection or the reason there is none; called on the requesting I/O thread. */
  interface Acquirer {
    void onConnection(UpstreamConnection connection, boolean reused);

    void onConnectFailure(RuntimeException failure);
  }

  private final Endpoint endpoint;
  private final CoreConfig config;
  private final Executor resolver;
  private final PerThread[] threads;
  private final AtomicInteger total = new AtomicInteger();
  private final AtomicInteger idle = new AtomicInteger();
  private final AtomicInteger pending = new AtomicInteger();
  private final long keepAliveNanos;
  private volatile boolean closed;
  private volatile long lastUsedNanos = System.nanoTime();

  HostPool(Endpoint endpoint, CoreConfig config, Executor resolver, int ioThreads) {
    this.endpoint = endpoint;
    this.config = config;
    this.resolver = resolver;
    this.threads = new PerThread[ioThreads];
    for (int i = 0; i < ioThreads; i++) {
      threads[i] = new PerThread();
    }
    this.keepAliveNanos = config.upstreamKeepAliveTimeout().toNanos();
  }

  Endpoint endpoint() {
    return endpoint;
  }

  int openConnections() {
    return total.get();
  }

  int idleConnections() {
    return idle.get();
  }

  /** Whether the pool holds nothing and was not used for {@code idleNanos}. */
  boolean isUnused(long now, long idleNanos) {
    return total.get() == 0 && pending.get() == 0 && now - lastUsedNanos > idleNanos;
  }

  /** Handle to withdraw a queued request. */
  static final class Waiter {
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
  Waiter acquire(XnioIoThread thread, Acquirer acquirer) {
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
    if (pending.incrementAndGet() > config.upstreamMaxPending()) {
      pending.decrementAndGet();
      acquirer.onConnectFailure(new UpstreamUnavailableException("upstream " + endpoint + ": "
          + config.upstreamMaxConnections() + " connections busy and " + config.upstreamMaxPending()
          + " requests queued (upstreamMaxConnections, upstreamMaxPending)"));
      return null;
    }
    Waiter w = new Waiter(acquirer, thread);
    pt.waiters.add(w);
    pt.waiting.incrementAndGet();
    w.timer = thread.executeAfter(() -> {
      if (!w.cancelled && pt.waiters.remove(w)) {
        pending.decrementAndGet();
        pt.waiting.decrementAndGet();
        w.cancelled = true;
        acquirer.onConnectFailure(new UpstreamUnavailableException("upstream " + endpoint
            + ": no connection free within connectTimeout " + config.connectTimeout()));
      }
    }, config.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
    return w;
  }

  /** Withdraws a queued request (its exchange went away). */
  void withdraw(Waiter w) {
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
    int max = config.upstreamMaxConnections();
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
    InetSocketAddress address = endpoint.address();
    if (address != null && !address.isUnresolved()) {
      connect(thread, address, acquirer);
      return;
    }
    byte[] literal = CidrSet.parseLiteral(endpoint.host());
    if (literal != null) {
      try {
        connect(thread, new InetSocketAddress(InetAddress.getByAddress(literal), endpoint.port()), acquirer);
      } catch (UnknownHostException e) {
        unreserve();
        acquirer.onConnectFailure(new UpstreamConnectException("invalid upstream address " + endpoint, e));
      }
      return;
    }
    // DNS may block: resolve on the worker, connect back on the I/O thread.
    try {
      resolver.execute(() -> {
        InetSocketAddress resolved;
        try {
          resolved = new InetSocketAddress(InetAddress.getByName(endpoint.host()), endpoint.port());
        } catch (UnknownHostException e) {
          thread.execute(() -> {
            unreserve();
            acquirer.onConnectFailure(new UpstreamConnectException("cannot resolve upstream host " + endpoint.host(), e));
          });
          return;
        }
        thread.execute(() -> connect(thread, resolved, acquirer));
      });
    } catch (RuntimeException e) {
      unreserve();
      acquirer.onConnectFailure(new UpstreamConnectException("cannot resolve upstream host " + endpoint.host(), e));
    }
  }

  private void connect(XnioIoThread thread, InetSocketAddress address, Acquirer acquirer) {
    IoFuture<StreamConnection> future;
    try {
      future = thread.openStreamConnection(address, null, CONNECT_OPTIONS);
    } catch (RuntimeException e) {
      unreserve();
      acquirer.onConnectFailure(new UpstreamConnectException("cannot connect to upstream " + endpoint, e));
      return;
    }
    long timeoutMs = config.connectTimeout().toMillis();
    XnioExecutor.Key timer = thread.executeAfter(future::cancel, timeoutMs, TimeUnit.MILLISECONDS);
    future.addNotifier((f, a) -> {
      Runnable r = () -> {
        timer.remove();
        switch (f.getStatus()) {
          case DONE: {
            StreamConnection sc;
            try {
              sc = f.get();
            } catch (IOException e) {
              unreserve();
              acquirer.onConnectFailure(new UpstreamConnectException("cannot connect to upstream " + endpoint, e));
              return;
            }
            UpstreamConnection c = new UpstreamConnection(sc, this);
            c.uses = 1;
            acquirer.onConnection(c, false);
            return;
          }
          case FAILED: {
            unreserve();
            IOException e = f.getException();
            acquirer.onConnectFailure(new UpstreamConnectException("cannot connect to upstream " + endpoint + ": "
                + e.getMessage(), e));
            return;
          }
          default: {
            unreserve();
            acquirer.onConnectFailure(new UpstreamTimeoutException("connecting to upstream " + endpoint
                + " took longer than connectTimeout " + config.connectTimeout()));
          }
        }
      };
      if (Thread.currentThread() == thread) {
        r.run();
      } else {
        thread.execute(r);
      }
    }, null);
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
  void release(UpstreamConnection c) {
    if (!c.reusable || !c.isOpen() || closed) {
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
    if (pending.get() > 0 || idle.get() >= config.upstreamMaxIdleConnections()) {
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
  void close() {
    closed = true;
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
