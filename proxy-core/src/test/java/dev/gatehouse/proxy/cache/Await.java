package dev.gatehouse.proxy.cache;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition the proxy reaches on its own threads (no fixed sleeps). */
final class Await {
  private Await() {}

  static void until(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not reached within 10 s: " + what);
      }
      Thread.onSpinWait();
      Thread.yield();
    }
  }
}
