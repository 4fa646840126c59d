package dev.gatehouse.proxy.internal.h2;

import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.internal.exchange.RequestImpl;
import dev.gatehouse.proxy.internal.http1.HttpDuties;
import dev.gatehouse.proxy.internal.http1.RequestHead;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.HeaderField;
import io.undertow.client.ClientRequest;
import io.undertow.client.ProxiedRequestAttachments;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.util.List;

/** Maps a forwarded request onto an HTTP/2 stream's head, and an HTTP/2 response head back. */
public final class H2Requests {
  private H2Requests() {}

  /**
   * The request head for an HTTP/2 stream: the same fields as {@link RequestHead} writes for HTTP/1.1
   * (no hop-by-hop or framing fields, no {@code Expect}), with {@code Host} becoming {@code :authority}.
   */
  public static ClientRequest build(RequestImpl request, Endpoint endpoint, String target, List<HeaderField> extra) {
    ClientRequest cr = new ClientRequest();
    cr.setMethod(HttpString.tryFromString(request.method()));
    cr.setPath(target);
    HeaderMap out = cr.getRequestHeaders();
    HeaderMap in = request.headerMap().map();
    String host = in.getFirst(Headers.HOST);
    out.put(Headers.HOST, host != null ? host : endpoint.authority());
    for (HeaderValues values : in) {
      HttpString name = values.getHeaderName();
      if (HttpDuties.isHopByHopOrFraming(name) || Headers.HOST.equals(name) || Headers.EXPECT.equals(name)) {
        continue;
      }
      out.putAll(name, values);
    }
    for (HeaderField f : extra) {
      out.add(HttpString.tryFromString(f.name()), f.value());
    }
    // Undertow's HTTP/2 client always writes X-Forwarded-Proto, from this attachment: keep ours
    String proto = out.getFirst(Headers.X_FORWARDED_PROTO);
    cr.putAttachment(ProxiedRequestAttachments.IS_SSL, proto != null && proto.regionMatches(true, 0, "https", 0, 5));
    return cr;
  }

  /**
   * Copies an HTTP/2 response's fields into {@code target} (cleared first), leaving out pseudo-fields;
   * a value with CR, LF or NUL (which HPACK could carry) fails the response.
   */
  public static void copyResponseHeaders(HeaderMap source, HeaderMap target, Endpoint endpoint) {
    target.clear();
    for (HeaderValues values : source) {
      HttpString name = values.getHeaderName();
      if (name.length() > 0 && name.byteAt(0) == ':') {
        continue;
      }
      for (int i = 0; i < values.size(); i++) {
        String v = values.get(i);
        for (int j = 0; j < v.length(); j++) {
          char c = v.charAt(j);
          if (c == '\r' || c == '\n' || c == 0) {
            throw new UpstreamResponseException("upstream " + endpoint + " sent a field value with CR, LF or NUL in "
                + name);
          }
        }
      }
      target.putAll(name, values);
    }
  }
}
