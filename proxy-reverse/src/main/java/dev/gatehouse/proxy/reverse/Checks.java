package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.spi.Tokens;
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

  /**
   * A token (RFC 9110: a header name, method or cookie name), checked by the project's one validator.
   *
   * @param expected what the message says is expected, e.g. {@code a token such as X-User-Id}
   */
  static String token(String name, String value, String expected) {
    return Tokens.check(name, value, expected);
  }
}
