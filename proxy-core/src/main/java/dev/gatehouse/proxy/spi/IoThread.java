package dev.gatehouse.proxy.spi;

import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * One of the running proxy's I/O threads, for work that must not block and that keeps its state on
 * one thread (a group's health checks, a drain check). {@link #execute} and {@link #schedule} throw
 * {@link java.util.concurrent.RejectedExecutionException} once the proxy is closing.
 */
public interface IoThread extends Executor {

  /** A task scheduled with {@link #schedule}. */
  @FunctionalInterface
  interface Scheduled {
    /** Cancels the task unless it has run; returns whether it was cancelled. */
    boolean cancel();
  }

  /** Runs {@code task} on this thread after {@code delay}. */
  Scheduled schedule(Runnable task, long delay, TimeUnit unit);
}
