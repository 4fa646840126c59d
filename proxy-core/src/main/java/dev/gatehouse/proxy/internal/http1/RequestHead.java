package dev.gatehouse.proxy.internal.http1;

import dev.gatehouse.proxy.internal.exchange.RequestImpl;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.HeaderField;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/** Serialises the request line and fields sent upstream; framing fields are the proxy's own. */
public final class RequestHead {
  private static final HttpString EXPECT = Headers.EXPECT;

  private static final ThreadLocal<RequestHead> SCRATCH = ThreadLocal.withInitial(RequestHead::new);

  private byte[] buf = new byte[2048];
  private int size;

  /**
   * @param target request-target, e.g. {@code /a?b} (or absolute-form through a parent proxy)
   * @param contentLength the length to declare, {@code -1} for chunked, {@code -2} for no framing field
   * @param keepExpect whether to forward {@code Expect: 100-continue}
   * @param extra fields added last (e.g. {@code Proxy-Authorization} for a parent proxy)
   */
  public static ByteBuffer write(RequestImpl request, Endpoint endpoint, String target, long contentLength,
      boolean keepExpect, boolean closeAfter, List<HeaderField> extra) {
    RequestHead h = build(request, endpoint, target, contentLength, keepExpect, closeAfter, extra);
    return ByteBuffer.wrap(java.util.Arrays.copyOf(h.buf, h.size));
  }

  /** Writes the head into {@code out} (a pooled buffer) if it fits; returns false if it does not. */
  public static boolean writeTo(ByteBuffer out, RequestImpl request, Endpoint endpoint, String target, long contentLength,
      boolean keepExpect, boolean closeAfter, List<HeaderField> extra) {
    RequestHead h = build(request, endpoint, target, contentLength, keepExpect, closeAfter, extra);
    if (h.size > out.remaining()) {
      return false;
    }
    out.put(h.buf, 0, h.size);
    return true;
  }

  /**
   * Defence in depth, whatever produced the request (a client over HTTP/1.1 or HTTP/2, a filter, a
   * route rewrite): what would be written upstream must not be able to end the head early or add a
   * line. Returns why the request must not be sent, or null when it may be: a method or field name that
   * is not a token, a field value with CR, LF or NUL, a request-target with white space or controls.
   */
  public static String unsafeHead(RequestImpl request, String target, List<HeaderField> extra) {
    if (!Http.isToken(request.method())) {
      return "method is not a token";
    }
    for (int i = 0, n = target.length(); i < n; i++) {
      char c = target.charAt(i);
      if (c <= ' ' || c == 0x7F || c > 0xFF) {
        return "request-target contains white space, a control or a character above Latin-1";
      }
    }
    HeaderMap map = request.headerMap().map();
    for (long c = map.fastIterateNonEmpty(); c != -1L; c = map.fiNextNonEmpty(c)) {
      HeaderValues values = map.fiCurrent(c);
      HttpString name = values.getHeaderName();
      if (!isTokenName(name)) {
        return "field name \"" + name + "\" is not a token";
      }
      for (int i = 0, n = values.size(); i < n; i++) {
        String v = values.get(i);
        if (v == null || !Http.isValidValue(v)) {
          return "field " + name + " has a value with CR, LF or NUL";
        }
      }
    }
    for (int i = 0, n = extra.size(); i < n; i++) {
      HeaderField f = extra.get(i);
      if (!Http.isToken(f.name()) || !Http.isValidValue(f.value())) {
        return "field " + f.name() + " is malformed";
      }
    }
    return null;
  }

  private static boolean isTokenName(HttpString name) {
    int n = name.length();
    if (n == 0) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (!Http.isTokenChar(name.byteAt(i) & 0xFF)) {
        return false;
      }
    }
    return true;
  }

  private static RequestHead build(RequestImpl request, Endpoint endpoint, String target, long contentLength,
      boolean keepExpect, boolean closeAfter, List<HeaderField> extra) {
    RequestHead h = SCRATCH.get();
    h.size = 0;
    h.ascii(request.method()).ascii(" ").ascii(target).ascii(" HTTP/1.1\r\n");
    String host = request.headerMap().map().getFirst(Headers.HOST);
    h.ascii("Host: ").latin1(host != null ? host : endpoint.authority()).ascii("\r\n");
    for (HeaderValues values : request.headerMap().map()) {
      HttpString name = values.getHeaderName();
      if (HttpDuties.isHopByHopOrFraming(name) || Headers.HOST.equals(name)
          || (!keepExpect && EXPECT.equals(name))) {
        continue;
      }
      for (String v : values) {
        h.latin1(name.toString()).ascii(": ").latin1(v).ascii("\r\n");
      }
    }
    for (int i = 0, n = extra.size(); i < n; i++) {
      HeaderField f = extra.get(i);
      h.ascii(f.name()).ascii(": ").latin1(f.value()).ascii("\r\n");
    }
    if (contentLength >= 0) {
      h.ascii("Content-Length: ").ascii(Long.toString(contentLength)).ascii("\r\n");
    } else if (contentLength == -1) {
      h.ascii("Transfer-Encoding: chunked\r\n");
    }
    if (closeAfter) {
      h.ascii("Connection: close\r\n");
    }
    h.ascii("\r\n");
    if (h.buf.length > 64 * 1024) {
      SCRATCH.remove(); // do not keep a huge scratch array after an unusual head
    }
    return h;
  }

  private void ensure(int more) {
    if (size + more > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
    }
  }

  private RequestHead ascii(String s) {
    return latin1(s);
  }

  @SuppressWarnings("deprecation")
  private RequestHead latin1(String s) {
    int n = s.length();
    ensure(n);
    // chars are Latin-1 (validated when set): the low byte of each is the wire byte
    s.getBytes(0, n, buf, size);
    size += n;
    return this;
  }
}
