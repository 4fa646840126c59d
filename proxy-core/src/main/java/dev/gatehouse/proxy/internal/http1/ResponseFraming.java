package dev.gatehouse.proxy.internal.http1;

import dev.gatehouse.proxy.UpstreamResponseException;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.Methods;

/**
 * How an upstream response's body is delimited (RFC 9112 §6.3 for HTTP/1.1, the stream for HTTP/2),
 * applied strictly: differing or invalid lengths fail the response, a length next to chunked is dropped.
 */
public final class ResponseFraming {
  private ResponseFraming() {}

  /**
   * The decoder for an HTTP/1.1 response to {@code method}; a decoder that {@linkplain
   * BodyDecoder#endsAtClose() ends at close} means the connection cannot be reused.
   */
  public static BodyDecoder http1(String method, int status, HeaderMap headers) {
    if (noBody(method, status, headers)) {
      return BodyDecoder.fixed(0);
    }
    HeaderValues te = headers.get(Headers.TRANSFER_ENCODING);
    if (te != null) {
      headers.remove(Headers.CONTENT_LENGTH); // RFC 9112 §6.3: Transfer-Encoding overrides it
      String last = te.getLast();
      int comma = last.lastIndexOf(',');
      String coding = (comma >= 0 ? last.substring(comma + 1) : last).trim();
      if (coding.equalsIgnoreCase("chunked")) {
        if (te.size() > 1 || last.indexOf(',') >= 0) {
          // other codings under chunked (e.g. gzip): cannot be passed on as they are
          throw new UpstreamResponseException("upstream used transfer codings other than chunked: " + te);
        }
        return new ChunkedDecoder();
      }
      return BodyDecoder.untilClose();
    }
    long length = declaredLength(headers);
    return length >= 0 ? BodyDecoder.fixed(length) : BodyDecoder.untilClose();
  }

  /** The decoder for an HTTP/2 response: the body ends with the stream, a declared length is checked. */
  public static BodyDecoder http2(String method, int status, HeaderMap headers) {
    if (noBody(method, status, headers)) {
      return BodyDecoder.untilStreamEnd(0);
    }
    return BodyDecoder.untilStreamEnd(declaredLength(headers));
  }

  /** Whether an HTTP/1.x response head lets the connection carry another request. */
  public static boolean keepAlive(HeaderMap headers, String protocol) {
    HeaderValues connection = headers.get(Headers.CONNECTION);
    boolean close = false;
    boolean keepAlive = false;
    if (connection != null) {
      for (String v : connection) {
        close |= Http.listContains(v, "close");
        keepAlive |= Http.listContains(v, "keep-alive");
      }
    }
    return !close && ("HTTP/1.1".equals(protocol) || keepAlive);
  }

  /** HEAD, 204 and 304 have no body (204 and 304 lose any Content-Length too). */
  private static boolean noBody(String method, int status, HeaderMap headers) {
    if (status == 204 || status == 304) {
      headers.remove(Headers.CONTENT_LENGTH);
      return true;
    }
    return Methods.HEAD_STRING.equals(method);
  }

  /**
   * The Content-Length, or -1 without one. Repeated equal values (as a list or several fields) are
   * folded into one field; differing or invalid values fail the response.
   */
  private static long declaredLength(HeaderMap headers) {
    HeaderValues cl = headers.get(Headers.CONTENT_LENGTH);
    if (cl == null) {
      return -1;
    }
    if (cl.size() == 1 && cl.getFirst().indexOf(',') < 0) {
      long length = Http.parseContentLength(cl.getFirst());
      if (length < 0) {
        throw new UpstreamResponseException("upstream sent an invalid Content-Length: " + cl.getFirst());
      }
      return length;
    }
    long length = -1;
    for (String v : cl) {
      for (String item : v.split(",")) {
        long n = Http.parseContentLength(item.trim());
        if (n < 0) {
          throw new UpstreamResponseException("upstream sent an invalid Content-Length: " + v);
        }
        if (length >= 0 && n != length) {
          throw new UpstreamResponseException("upstream sent differing Content-Length values: " + cl);
        }
        length = n;
      }
    }
    headers.put(Headers.CONTENT_LENGTH, Long.toString(length));
    return length;
  }
}
