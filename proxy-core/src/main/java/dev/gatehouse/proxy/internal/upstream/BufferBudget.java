package dev.gatehouse.proxy.internal.upstream;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory all exchanges together may hold in response read-ahead for slow clients, and tunnels in
 * the extra buffers of bulk transfers. Each exchange, and each direction of a tunnel, may always hold
 * one I/O buffer (so everything makes progress); buffers beyond that are charged here, and when the
 * budget is spent an exchange stops reading ahead and streams at its client's pace, and a tunnel moves
 * one buffer per system call.
 */
public final class BufferBudget {
  private final long limit;
  private final AtomicLong used = new AtomicLong();
  private final AtomicLong peak = new AtomicLong();

  public BufferBudget(long limit) {
    this.limit = limit;
  }

  /** Charges {@code bytes} if they fit. */
  public boolean tryReserve(long bytes) {
    for (;;) {
      long u = used.get();
      if (u + bytes > limit) {
        return false;
      }
      if (used.compareAndSet(u, u + bytes)) {
        if (u + bytes > peak.get()) {
          peak.accumulateAndGet(u + bytes, Math::max);
        }
        return true;
      }
    }
  }

  /** Gives back {@code bytes} charged before. */
  public void release(long bytes) {
    used.addAndGet(-bytes);
  }

  /** Bytes charged now. */
  public long used() {
    return used.get();
  }

  /** The most bytes charged at once so far. */
  public long peak() {
    return peak.get();
  }

  /** The bound: what may be charged at once. */
  public long limit() {
    return limit;
  }
}
