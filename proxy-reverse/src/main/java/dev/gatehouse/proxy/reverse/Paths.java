package dev.gatehouse.proxy.reverse;

import java.util.ArrayList;
import java.util.List;

/** Path normalisation for routing (RFC 3986 §5.2.4), on the raw percent-encoded path. */
final class Paths {
  private Paths() {}

  /**
   * Resolves {@code .} and {@code ..} segments (also as {@code %2e}) and merges repeated slashes; null
   * if the path climbs above the root. Other percent-encodings are left as they are.
   */
  static String normalize(String raw) {
    if (raw.isEmpty()) {
      return "/";
    }
    if (raw.indexOf("//") < 0 && raw.indexOf('.') < 0 && raw.indexOf('%') < 0) {
      return raw; // the common case: nothing to do
    }
    List<String> out = new ArrayList<>();
    int i = raw.charAt(0) == '/' ? 1 : 0;
    boolean trailingSlash = raw.endsWith("/");
    while (i <= raw.length()) {
      int slash = raw.indexOf('/', i);
      if (slash < 0) {
        slash = raw.length();
      }
      String seg = raw.substring(i, slash);
      String dec = seg.replace("%2e", ".").replace("%2E", ".");
      if (seg.isEmpty() || dec.equals(".")) {
        // skip
      } else if (dec.equals("..")) {
        if (out.isEmpty()) {
          return null;
        }
        out.remove(out.size() - 1);
      } else {
        out.add(seg);
      }
      i = slash + 1;
    }
    StringBuilder sb = new StringBuilder();
    for (String s : out) {
      sb.append('/').append(s);
    }
    if (sb.length() == 0) {
      return "/";
    }
    String last = raw.substring(raw.lastIndexOf('/') + 1).replace("%2e", ".").replace("%2E", ".");
    if (trailingSlash || last.equals(".") || last.equals("..")) {
      sb.append('/');
    }
    return sb.toString();
  }
}
