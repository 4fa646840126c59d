package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyExchange;

/** Reads a cookie from the request's {@code Cookie} header fields (RFC 6265 §5.4). */
final class Cookies {
  private Cookies() {}

  static String get(ProxyExchange exchange, String name) {
    for (String header : exchange.request().headers().getAll("Cookie")) {
      int i = 0;
      int n = header.length();
      while (i < n) {
        int semi = header.indexOf(';', i);
        if (semi < 0) {
          semi = n;
        }
        int eq = header.indexOf('=', i);
        if (eq > 0 && eq < semi && header.substring(i, eq).trim().equals(name)) {
          String v = header.substring(eq + 1, semi).trim();
          if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            v = v.substring(1, v.length() - 1);
          }
          return v;
        }
        i = semi + 1;
      }
    }
    return null;
  }
}
