package dev.gatehouse.proxy.internal.gateway;

import dev.gatehouse.proxy.internal.http1.Http;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Small parsers for comma-separated header values (RFC 9110 §5.6.1) and tokens. */
public final class HeaderValuesParser {
  private HeaderValuesParser() {}

  /** Whether {@code s} is a non-empty RFC 9110 token (the engine's one check, {@link Http#isToken}). */
  public static boolean isToken(String s) {
    return s != null && Http.isToken(s);
  }

  /** Whether {@code s} may be a header value: visible ASCII, space and tab only (no CR, LF, NUL, controls). */
  public static boolean isSafeValue(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7F || c > 0xFF) {
        return false;
      }
    }
    return true;
  }

  /** The elements of every value of a comma-separated list field, trimmed, empty ones dropped. */
  public static List<String> elements(List<String> values) {
    List<String> out = new ArrayList<>(4);
    for (String v : values) {
      int start = 0;
      for (int i = 0; i <= v.length(); i++) {
        if (i == v.length() || v.charAt(i) == ',') {
          String e = v.substring(start, i).trim();
          if (!e.isEmpty()) {
            out.add(e);
          }
          start = i + 1;
        }
      }
    }
    return out;
  }

  /** Whether a comma-separated list field contains {@code token} (case-insensitive). */
  public static boolean listContains(List<String> values, String token) {
    for (String e : elements(values)) {
      int semi = e.indexOf(';');
      String name = (semi < 0 ? e : e.substring(0, semi)).trim();
      if (name.equalsIgnoreCase(token)) {
        return true;
      }
    }
    return false;
  }

  /** The lower-case media type of a {@code Content-Type} value without parameters, e.g. {@code text/html}. */
  public static String mediaType(String contentType) {
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
  }
}
