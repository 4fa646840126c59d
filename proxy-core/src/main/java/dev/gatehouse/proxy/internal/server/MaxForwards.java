package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.http1.Http;
import dev.gatehouse.proxy.internal.http1.HttpDuties;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * {@code Max-Forwards} on {@code OPTIONS} and {@code TRACE} (RFC 9110 §7.6.2): at 0 the proxy answers
 * itself ({@code TRACE} echoes the request head as received, minus credentials; {@code OPTIONS} lists
 * the methods), otherwise the value goes down by one.
 */
final class MaxForwards {
  private MaxForwards() {}

  /** Whether the proxy answered the request itself (Max-Forwards reached 0); on the I/O thread. */
  static boolean answered(ExchangeImpl ex) {
    HttpServerExchange hse = ex.hse();
    boolean trace = Methods.TRACE.equals(hse.getRequestMethod());
    if (!trace && !Methods.OPTIONS.equals(hse.getRequestMethod())) {
      return false;
    }
    String mf = hse.getRequestHeaders().getFirst(HttpDuties.MAX_FORWARDS);
    if (mf == null) {
      return false;
    }
    long n = Http.parseContentLength(mf.trim());
    if (n < 0) {
      return false; // not a number: forwarded as it is
    }
    if (n > 0) {
      hse.getRequestHeaders().put(HttpDuties.MAX_FORWARDS, Long.toString(n - 1));
      return false;
    }
    hse.setStatusCode(200);
    if (trace) {
      // Echo the request head as received, minus credentials (RFC 9110 §9.3.8).
      StringBuilder sb = new StringBuilder();
      sb.append(hse.getRequestMethod()).append(' ').append(hse.getRequestURI());
      if (!hse.getQueryString().isEmpty()) {
        sb.append('?').append(hse.getQueryString());
      }
      sb.append(' ').append(hse.getProtocol()).append("\r\n");
      for (HeaderValues hv : hse.getRequestHeaders()) {
        String name = hv.getHeaderName().toString();
        if (name.equalsIgnoreCase("authorization") || name.equalsIgnoreCase("cookie")
            || name.equalsIgnoreCase("proxy-authorization")) {
          continue;
        }
        for (String v : hv) {
          sb.append(name).append(": ").append(v).append("\r\n");
        }
      }
      sb.append("\r\n");
      byte[] body = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
      hse.getResponseHeaders().put(Headers.CONTENT_TYPE, "message/http");
      hse.getResponseHeaders().put(Headers.CONTENT_LENGTH, body.length);
      ex.responseStatus(200);
      hse.getResponseSender().send(ByteBuffer.wrap(body));
    } else {
      hse.getResponseHeaders().put(Headers.ALLOW, "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH");
      hse.getResponseHeaders().put(Headers.CONTENT_LENGTH, 0);
      ex.responseStatus(200);
      hse.endExchange();
    }
    return true;
  }
}
