package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.internal.http1.Http;
import java.util.Objects;

/**
 * The one token check (RFC 9110 §5.6.2: header field names, methods, cookie names), for the modules'
 * settings; the engine checks what it sends with the same rule.
 */
public final class Tokens {
  private Tokens() {}

  /** Whether {@code s} is a non-empty token. */
  public static boolean isToken(CharSequence s) {
    return Http.isToken(s);
  }

  /**
   * Returns {@code value} if it is a token.
   *
   * @param setting the setting named in the message
   * @param expected what the message says is expected, e.g. {@code a header field name}
   * @throws IllegalArgumentException {@code setting: "value" (expected: expected)} otherwise
   */
  public static String check(String setting, String value, String expected) {
    Objects.requireNonNull(value, setting);
    if (!Http.isToken(value)) {
      throw new IllegalArgumentException(setting + ": \"" + value + "\" (expected: " + expected + ")");
    }
    return value;
  }
}
