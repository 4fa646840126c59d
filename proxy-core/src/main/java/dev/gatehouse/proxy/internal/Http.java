package dev.gatehouse.proxy.internal;

import io.undertow.util.HttpString;
import java.util.Locale;

/** Small HTTP syntax helpers (RFC 9110 §5.6). */
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

  public static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  public static boolean is(HttpString name, String lower) {
    return name.equalToString(lower);
  }
}
