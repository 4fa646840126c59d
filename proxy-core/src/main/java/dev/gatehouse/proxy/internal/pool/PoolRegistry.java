package dev.gatehouse.proxy.internal.pool;

import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.PoolSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.xnio.XnioWorker;

/**
 * The proxy's connection pools, one per upstream address and settings: made on first use, retired when
 * the routes that used them are replaced, swept when unused for a while (a forward proxy meets many
 * destinations), closed with the proxy.
 */
public final class PoolRegistry {
  private record Key(String endpoint, PoolSettings settings) {}

  private final ConcurrentHashMap<Key, HostPool> pools = new ConcurrentHashMap<>();
  private final PoolSettings defaults;
  private final Executor resolver;
  private final int ioThreads;

  /**
   * @param defaults the settings of calls that bring none of their own
   * @param resolver where DNS look-ups run (the worker threads)
   */
  public PoolRegistry(PoolSettings defaults, Executor resolver, int ioThreads) {
    this.defaults = defaults;
    this.resolver = resolver;
    this.ioThreads = ioThreads;
  }

  /** The settings of calls that bring none of their own. */
  public PoolSettings defaults() {
    return defaults;
  }

  /** The pool to {@code endpoint} with {@code settings}, made on first use. */
  public HostPool pool(Endpoint endpoint, PoolSettings settings) {
    Key key = new Key(endpoint.key(), settings);
    HostPool p = pools.get(key);
    if (p == null) {
      p = pools.computeIfAbsent(key, k -> new HostPool(endpoint, settings, resolver, ioThreads));
    }
    return p;
  }

  /**
   * Closes and forgets the pool for {@code endpoint} with {@code settings}. Exchanges still using its
   * connections finish; the connections then close instead of going back. A later request for the same
   * upstream gets a new pool. Returns whether there was one.
   */
  public boolean retire(Endpoint endpoint, PoolSettings settings) {
    HostPool p = pools.remove(new Key(endpoint.key(), settings));
    if (p != null) {
      p.close();
    }
    return p != null;
  }

  /** A snapshot of every pool, for the proxy's status. */
  public List<ProxyStatus.Pool> status() {
    List<ProxyStatus.Pool> out = new ArrayList<>();
    for (HostPool p : pools.values()) {
      out.add(p.status());
    }
    return out;
  }

  /**
   * Drops pools not used for a while, checking every {@code everyMillis} on an I/O thread of the worker
   * {@code worker} returns (null once the proxy closes); a pool with open connections or queued
   * requests is kept.
   */
  public void scheduleSweep(Supplier<XnioWorker> worker, long everyMillis) {
    XnioWorker w = worker.get();
    if (w == null) {
      return;
    }
    try {
      w.getIoThread().executeAfter(() -> {
        long now = System.nanoTime();
        pools.values().removeIf(p -> p.isUnused(now, everyMillis * 2_000_000));
        scheduleSweep(worker, everyMillis);
      }, everyMillis, TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      // the worker is shutting down
    }
  }

  /** Closes every pool (the proxy closes). */
  public void closeAll() {
    for (HostPool p : pools.values()) {
      p.close();
    }
  }
}
