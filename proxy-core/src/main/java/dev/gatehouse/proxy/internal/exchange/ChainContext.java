package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.ProxyExchange;

/**
 * What {@link FilterChain} needs from an exchange besides the public {@link ProxyExchange}: the
 * engine's exchanges and the in-memory filter harness's both provide it, so both run filters with the
 * same rules (registration order, {@code proceed()} at most once and from any thread, misuse reported).
 */
public interface ChainContext extends ProxyExchange {

  /** Whether the exchange is over (the client left): the chain stops. */
  boolean isFinished();

  /** Whether the calling thread is the exchange's I/O thread. */
  boolean inIoThread();

  /** Runs {@code task} on the exchange's I/O thread, later. */
  void executeOnIoThread(Runnable task);

  /** The check for filters that hold the I/O thread; null for none. */
  SlowFilterCheck slowFilterCheck();

  /** Records a filter misuse (a null stage, a second {@code proceed()}): the client gets a 500. */
  void misuse(Throwable t);
}
