package dev.gatehouse.proxy.internal.http1;

import io.undertow.util.HttpString;
import java.util.Locale;

/**
 * HTTP syntax rules (RFC 9110 §5.5 and §5.6): the one place that says what a field name, a field value
 * and a token may contain. Everything that puts client bytes into an upstream request head, a response
 * or a log line goes through these checks, whatever path the bytes took (HTTP/1.1, HTTP/2, a filter).
 */
public final class Http {
  private static final boolean[] TCHAR = new boolean[128];

  static {
    for (char c = '0'; c <= '9'; c++) {
      TCHAR[c] = true;
    }
    for (char c = 'a'; c <= 'z'; c++) {
      TCHAR[c] = true;
      TCHAR[c - 32] = true;
    }
    for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
      TCHAR[c] = true;
    }
  }

  private Http() {}

  public static boolean isTokenChar(int c) {
    return c >= 0 && c < 128 && TCHAR[c];
  }

  public static boolean isToken(CharSequence s) {
    if (s.length() == 0) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (!isTokenChar(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /**
   * The index of the first character a field value must never carry on the wire (CR, LF, NUL, or a
   * character above Latin-1 that has no single-byte form), or -1 when there is none. RFC 9110 §5.5:
   * a recipient of CR, LF or NUL in a value must reject the message or replace them; a proxy rejects.
   */
  public static int invalidValueChar(CharSequence value) {
    for (int i = 0, n = value.length(); i < n; i++) {
      char c = value.charAt(i);
      if (c == '\r' || c == '\n' || c == 0 || c > 0xFF) {
        return i;
      }
    }
    return -1;
  }

  /** Whether {@code value} may be sent as a field value: no CR, LF, NUL or non-Latin-1 character. */
  public static boolean isValidValue(CharSequence value) {
    return invalidValueChar(value) < 0;
  }

  /**
   * Why an HTTP/2 field is malformed (RFC 9113 §8.2.1), or null if it is not: the name must be a token
   * in lower case (so no colon: pseudo-fields are taken apart before this), and the value must carry
   * no CR, LF or NUL and neither start nor end with a space or tab.
   */
  public static String http2FieldProblem(CharSequence name, CharSequence value) {
    int n = name.length();
    if (n == 0) {
      return "empty field name";
    }
    for (int i = 0; i < n; i++) {
      char c = name.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        return "upper-case letter in field name";
      }
      if (!isTokenChar(c)) {
        return c == ':' ? "colon in field name" : "invalid character in field name";
      }
    }
    if (value == null) {
      return "field without a value";
    }
    int bad = invalidValueChar(value);
    if (bad >= 0) {
      char c = value.charAt(bad);
      return c == '\r' ? "CR in field value" : c == '\n' ? "LF in field value" : c == 0 ? "NUL in field value"
          : "non-Latin-1 character in field value";
    }
    int m = value.length();
    if (m > 0 && (isBlank(value.charAt(0)) || isBlank(value.charAt(m - 1)))) {
      return "field value starts or ends with white space";
    }
    return null;
  }

  private static boolean isBlank(char c) {
    return c == ' ' || c == '\t';
  }

  /**
   * Checks a field name a caller wants to set; returns it.
   *
   * @throws IllegalArgumentException naming the field when it is not a token
   */
  public static String checkName(String name) {
    java.util.Objects.requireNonNull(name, "name");
    if (!isToken(name)) {
      throw new IllegalArgumentException("header name: \"" + name + "\" (expected: an RFC 9110 token)");
    }
    return name;
  }

  /**
   * Checks a field value a caller wants to set; returns it.
   *
   * @throws IllegalArgumentException naming the field when the value has CR, LF, NUL or non-Latin-1 characters
   */
  public static String checkValue(String name, String value) {
    java.util.Objects.requireNonNull(value, "value");
    int bad = invalidValueChar(value);
    if (bad >= 0) {
      throw new IllegalArgumentException("header " + name + ": value contains "
          + (value.charAt(bad) > 0xFF ? "a non-Latin-1 character" : "CR, LF or NUL")
          + " (expected: visible characters, space and tab)");
    }
    return value;
  }

  /** Whether a comma-separated header value lists {@code token} (case-insensitively). */
  public static boolean listContains(String value, String token) {
    if (value == null) {
      return false;
    }
    int i = 0;
    int n = value.length();
    while (i < n) {
      int comma = value.indexOf(',', i);
      if (comma < 0) {
        comma = n;
      }
      String item = value.substring(i, comma).trim();
      if (item.equalsIgnoreCase(token)) {
        return true;
      }
      i = comma + 1;
    }
    return false;
  }

  /** A Content-Length value: 1 to 18 digits, nothing else; -1 when invalid. */
  public static long parseContentLength(String s) {
    int n = s.length();
    if (n == 0 || n > 18) {
      return -1;
    }
    long v = 0;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }
  public static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  public static boolean is(HttpString name, String lower) {
    return name.equalToString(lower);
  }
}
