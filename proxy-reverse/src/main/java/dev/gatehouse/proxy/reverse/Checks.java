package dev.gatehouse.proxy.reverse;

import java.time.Duration;
import java.util.Objects;

/** Setting checks shared by the builders; messages name the setting, the value and the expectation. */
final class Checks {
  private Checks() {}

  static Duration positive(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
    }
    return d;
  }

  /** A server's weight, 1-1000. */
  static int weight(int weight) {
    if (weight < 1 || weight > 1000) {
      throw new IllegalArgumentException("weight: " + weight + " (expected: 1-1000)");
    }
    return weight;
  }
}
