package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.internal.http1.Http;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpAttachments;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.Protocols;

/**
 * Checks a parsed request head before anything is forwarded. Undertow's parser already rejects bare CR,
 * bare LF and NUL in fields, invalid field names and methods, Content-Length together with
 * Transfer-Encoding, and repeated Content-Length or Transfer-Encoding lines (400, connection closed), and
 * replaces obs-fold with a space as RFC 9112 §5.2 allows. This adds the limits (414, 431, 413) and the
 * framing rules the parser leaves out.
 *
 * <p>HTTP/2 requests arrive as HPACK-decoded fields that no HTTP/1.1 parser has seen, and Undertow
 * checks only part of RFC 9113 §8.2 and §8.3 for them (names with upper-case letters, connection and
 * transfer-encoding fields, the pseudo-field set and order). This checks the rest before anything is
 * forwarded: CR, LF and NUL in values, a colon or other non-token character in names, white space around
 * values, the other connection-specific fields, {@code te} other than {@code trailers}, and a
 * {@code :path} that is not origin-form (or {@code *} for OPTIONS). A body that does not match its
 * {@code content-length} is stopped by {@link DeclaredLengthConduit}.
 */
public final class RequestValidator {

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
    // Undertow resets any HTTP/2 stream whose fields include connection; an HTTP/2 exchange that has one
    // is the first request of an HTTP/1.1 connection upgraded to h2c, parsed by the HTTP/1.1 parser
    if (exchange.getProtocol().equals(Protocols.HTTP_2_0) && !exchange.getRequestHeaders().contains(Headers.CONNECTION)) {
      Rejection r = checkHttp2(exchange);
      if (r != null) {
        return r;
      }
    }
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
        String v = values.get(i);
        count++;
        bytes += nameLength + 4 + (v == null ? 0 : v.length());
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
      // a list: empty elements are ignored (RFC 9110 §5.6.1.2), so "chunked," is chunked
      java.util.List<String> codings = new java.util.ArrayList<>(2);
      for (String c : te.getFirst().split(",")) {
        if (!c.isBlank()) {
          codings.add(c.trim());
        }
      }
      if (codings.isEmpty() || !codings.get(codings.size() - 1).equalsIgnoreCase("chunked")) {
        return new Rejection(400, "Bad Request: chunked is not the final transfer coding");
      }
      if (codings.size() > 1) {
        return new Rejection(501, "Not Implemented: transfer coding " + codings.get(0));
      }
    }
    if (cl != null) {
      if (cl.size() != 1) {
        return new Rejection(400, "Bad Request: repeated Content-Length");
      }
      long length = Http.parseContentLength(cl.getFirst());
      if (length < 0) {
        return new Rejection(400, "Bad Request: invalid Content-Length");
      }
      if (config.maxRequestBodySize() >= 0 && length > config.maxRequestBodySize()) {
        return new Rejection(413, "Content Too Large");
      }
    }
    return null;
  }

  private static final HttpString KEEP_ALIVE = new HttpString("keep-alive");
  private static final HttpString PROXY_CONNECTION = new HttpString("proxy-connection");

  /** RFC 9113 §8.2 and §8.3 beyond what Undertow checks; a refusal is a 400 on the stream. */
  private static Rejection checkHttp2(HttpServerExchange exchange) {
    HeaderMap headers = exchange.getRequestHeaders();
    for (long c = headers.fastIterateNonEmpty(); c != -1L; c = headers.fiNextNonEmpty(c)) {
      HeaderValues values = headers.fiCurrent(c);
      HttpString name = values.getHeaderName();
      for (int i = 0, n = values.size(); i < n; i++) {
        String v = values.get(i);
        if (v == null && Headers.HOST.equals(name)) {
          return new Rejection(400, "Bad Request: HTTP/2 request without :authority");
        }
        // Undertow itself sets Host from :authority, under its own spelling "Host"
        String problem = Http.http2FieldProblem(Headers.HOST.equals(name) ? "host" : name.toString(), v);
        if (problem != null) {
          return new Rejection(400, "Bad Request: malformed HTTP/2 request (" + problem + ")");
        }
      }
    }
    if (headers.contains(KEEP_ALIVE) || headers.contains(PROXY_CONNECTION)
        || headers.contains(Headers.TRANSFER_ENCODING) || headers.contains(Headers.UPGRADE)) {
      return new Rejection(400, "Bad Request: connection-specific field in an HTTP/2 request");
    }
    HeaderValues te = headers.get(Headers.TE);
    if (te != null) {
      for (String v : te) {
        if (!v.equals("trailers")) {
          return new Rejection(400, "Bad Request: te other than trailers in an HTTP/2 request");
        }
      }
    }
    if (Methods.CONNECT.equals(exchange.getRequestMethod())) {
      return null; // :authority only (Undertow checked that :scheme and :path are absent)
    }
    String target = exchange.getRequestURI();
    if (exchange.isHostIncludedInRequestURI() || !target.startsWith("/")) {
      if (target.equals("*") && Methods.OPTIONS.equals(exchange.getRequestMethod())) {
        return null;
      }
      return new Rejection(400, "Bad Request: HTTP/2 :path must be origin-form (or * for OPTIONS)");
    }
    return null;
  }

  /**
   * Trailers are not forwarded, but a request whose trailer section is malformed is malformed as a whole
   * (RFC 9113 §8.1.1): it is refused before the upstream sees the end of it. Null when they are fine.
   */
  public static String trailerProblem(HttpServerExchange hse) {
    HeaderMap trailers = hse.getAttachment(HttpAttachments.REQUEST_TRAILERS);
    if (trailers == null) {
      return null;
    }
    boolean h2Client = Protocols.HTTP_2_0.equals(hse.getProtocol());
    for (HeaderValues values : trailers) {
      String name = values.getHeaderName().toString();
      for (String v : values) {
        String problem = h2Client ? Http.http2FieldProblem(name, v)
            : !Http.isToken(name) ? "invalid field name" : v == null || !Http.isValidValue(v) ? "CR, LF or NUL in a value" : null;
        if (problem != null) {
          return problem;
        }
      }
    }
    return null;
  }
}
