package dev.gatehouse.proxy.internal;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.Protocols;

/**
 * Checks a parsed request head before anything is forwarded. Undertow's parser already rejects bare CR,
 * bare LF and NUL in fields, invalid field names and methods, Content-Length together with
 * Transfer-Encoding, and repeated Content-Length or Transfer-Encoding lines (400, connection closed), and
 * replaces obs-fold with a space as RFC 9112 §5.2 allows. This adds the limits (414, 431, 413) and the
 * framing rules the parser leaves out.
 */
final class RequestValidator {

  /** A refusal: status and a short reason for the client. */
  record Rejection(int status, String reason) {}

  private final CoreConfig config;

  RequestValidator(CoreConfig config) {
    this.config = config;
  }

  /** The bytes Undertow itself may buffer for a request head before it answers 400 on its own. */
  static int parserLimit(CoreConfig config) {
    return 2 * (config.maxRequestLineLength() + config.maxHeaderBytes()) + 16 * 1024;
  }

  Rejection check(HttpServerExchange exchange) {
    int lineLength = exchange.getRequestMethod().length() + 2 + exchange.getProtocol().length()
        + exchange.getRequestURI().length();
    String query = exchange.getQueryString();
    if (query != null && !query.isEmpty()) {
      lineLength += 1 + query.length();
    }
    if (lineLength > config.maxRequestLineLength()) {
      return new Rejection(414, "URI Too Long");
    }
    HeaderMap headers = exchange.getRequestHeaders();
    long count = 0;
    long bytes = 0;
    for (long c = headers.fastIterateNonEmpty(); c != -1L; c = headers.fiNextNonEmpty(c)) {
      HeaderValues values = headers.fiCurrent(c);
      int nameLength = values.getHeaderName().length();
      for (int i = 0, n = values.size(); i < n; i++) {
        count++;
        bytes += nameLength + 4 + values.get(i).length();
      }
    }
    if (count > config.maxHeaderCount() || bytes > config.maxHeaderBytes()) {
      return new Rejection(431, "Request Header Fields Too Large");
    }

    HeaderValues te = headers.get(Headers.TRANSFER_ENCODING);
    HeaderValues cl = headers.get(Headers.CONTENT_LENGTH);
    if (te != null && cl != null) {
      return new Rejection(400, "Bad Request: both Content-Length and Transfer-Encoding");
    }
    if (te != null) {
      if (te.size() != 1) {
        return new Rejection(400, "Bad Request: repeated Transfer-Encoding");
      }
      if (exchange.getProtocol().equals(Protocols.HTTP_1_0)) {
        return new Rejection(400, "Bad Request: Transfer-Encoding in an HTTP/1.0 request");
      }
      String[] codings = te.getFirst().split(",");
      String last = codings[codings.length - 1].trim();
      if (!last.equalsIgnoreCase("chunked")) {
        return new Rejection(400, "Bad Request: chunked is not the final transfer coding");
      }
      if (codings.length > 1) {
        return new Rejection(501, "Not Implemented: transfer coding " + codings[0].trim());
      }
    }
    if (cl != null) {
      if (cl.size() != 1) {
        return new Rejection(400, "Bad Request: repeated Content-Length");
      }
      long length = parseContentLength(cl.getFirst());
      if (length < 0) {
        return new Rejection(400, "Bad Request: invalid Content-Length");
      }
      if (config.maxRequestBodySize() >= 0 && length > config.maxRequestBodySize()) {
        return new Rejection(413, "Content Too Large");
      }
    }
    return null;
  }

  /** A Content-Length value: 1 to 18 digits, nothing else; -1 when invalid. */
  static long parseContentLength(String s) {
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
}
