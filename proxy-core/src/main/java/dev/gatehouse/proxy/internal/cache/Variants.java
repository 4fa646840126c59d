package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.HttpHeaders;
import java.util.List;

/**
 * The secondary key of a response that varies (RFC 9111 §4.1): for each field its {@code Vary} names,
 * the request's values, normalised (lines combined, whitespace around commas removed), so that two
 * requests select the same stored response exactly when they present equal values.
 */
final class Variants {
  private Variants() {}

  /** The variant of a request for a response whose {@code Vary} names {@code fields} (lower case). */
  static String of(List<String> fields, HttpHeaders request) {
    if (fields.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder(32);
    for (String f : fields) {
      sb.append(f);
      List<String> values = request.getAll(f);
      if (!values.isEmpty()) {
        sb.append(':');
        boolean first = true;
        for (String v : values) {
          for (String item : v.split(",")) {
            String t = item.trim();
            if (t.isEmpty()) {
              continue;
            }
            if (!first) {
              sb.append(',');
            }
            first = false;
            appendCollapsed(sb, t);
          }
        }
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  private static void appendCollapsed(StringBuilder sb, String s) {
    boolean space = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == ' ' || c == '\t') {
        space = true;
        continue;
      }
      if (space) {
        sb.append(' ');
        space = false;
      }
      sb.append(c);
    }
  }
}
