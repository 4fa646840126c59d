package dev.gatehouse.proxy.internal.cache;

/**
 * A single byte range of a {@code Range} request (RFC 9110 §14.1.2) resolved against a body length.
 * Several ranges, other units and malformed values are ignored (the whole body is served, which the
 * RFC allows).
 */
final class ByteRange {
  /** The range cannot be served from this body: 416. */
  static final ByteRange UNSATISFIABLE = new ByteRange(-1, -1);

  final long first;
  final long last;

  private ByteRange(long first, long last) {
    this.first = first;
    this.last = last;
  }

  long length() {
    return last - first + 1;
  }

  /** The range {@code header} asks for in a body of {@code length} bytes; null to serve the whole body. */
  static ByteRange parse(String header, long length) {
    if (header == null) {
      return null;
    }
    String h = header.trim();
    if (!h.regionMatches(true, 0, "bytes=", 0, 6)) {
      return null;
    }
    String spec = h.substring(6).trim();
    if (spec.isEmpty() || spec.indexOf(',') >= 0) {
      return null;
    }
    int dash = spec.indexOf('-');
    if (dash < 0) {
      return null;
    }
    String a = spec.substring(0, dash).trim();
    String b = spec.substring(dash + 1).trim();
    if (a.isEmpty()) {
      long suffix = number(b);
      if (suffix < 0) {
        return null;
      }
      if (suffix == 0 || length == 0) {
        return UNSATISFIABLE;
      }
      return new ByteRange(Math.max(0, length - suffix), length - 1);
    }
    long first = number(a);
    if (first < 0) {
      return null;
    }
    long last;
    if (b.isEmpty()) {
      last = length - 1;
    } else {
      last = number(b);
      if (last < 0 || last < first) {
        return null;
      }
      last = Math.min(last, length - 1);
    }
    if (first >= length) {
      return UNSATISFIABLE;
    }
    return new ByteRange(first, last);
  }

  private static long number(String s) {
    if (s.isEmpty() || s.length() > 18) {
      return -1;
    }
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      n = n * 10 + (c - '0');
    }
    return n;
  }
}
