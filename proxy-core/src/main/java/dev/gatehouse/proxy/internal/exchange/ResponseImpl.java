package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.upstream.BodyObserver;
import dev.gatehouse.proxy.internal.upstream.BodySource;
import dev.gatehouse.proxy.internal.upstream.UpstreamCall;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** A response: from an upstream (with a streaming body) or made by a filter (with bytes). */
public final class ResponseImpl implements ProxyResponse {
  private int status;
  private final HeaderMap headerMap;
  private HeaderMapHeaders headers;
  private final byte[] body;
  private final UpstreamCall call;
  private final BodySource source;
  private final String protocol;
  private List<BodyTransformer> transformers;

  /** A locally made response; {@code body} may be null for none. */
  public ResponseImpl(int status, byte[] body, String contentType) {
    checkStatus(status);
    this.status = status;
    this.headerMap = new HeaderMap();
    this.body = body;
    this.call = null;
    this.source = null;
    this.protocol = null;
    if (contentType != null) {
      headerMap.put(Headers.CONTENT_TYPE, contentType);
    }
  }

  /** A response from an upstream whose body is still to be read. */
  public ResponseImpl(int status, HeaderMap headers, UpstreamCall call, String protocol) {
    this.status = status;
    this.headerMap = headers;
    this.body = null;
    this.call = call;
    this.source = null;
    this.protocol = protocol;
  }

  /**
   * A response the proxy serves itself with a body produced chunk by chunk (a cache hit): framed and
   * written like an upstream response, with {@code Via} for {@code protocol}.
   */
  public ResponseImpl(int status, HeaderMap headers, BodySource source, String protocol) {
    checkStatus(status);
    this.status = status;
    this.headerMap = headers;
    this.body = null;
    this.call = null;
    this.source = Objects.requireNonNull(source, "source");
    this.protocol = protocol;
  }

  private static void checkStatus(int status) {
    if (status < 200 || status > 599) {
      throw new IllegalArgumentException("status: " + status + " (expected: 200-599)");
    }
  }

  @Override
  public int status() {
    return status;
  }

  @Override
  public ProxyResponse status(int status) {
    checkStatus(status);
    this.status = status;
    return this;
  }

  @Override
  public HttpHeaders headers() {
    if (headers == null) {
      headers = new HeaderMapHeaders(headerMap);
    }
    return headers;
  }

  public HeaderMap headerMap() {
    return headerMap;
  }

  @Override
  public ProxyResponse transformBody(BodyTransformer transformer) {
    Objects.requireNonNull(transformer, "transformer");
    if (transformers == null) {
      transformers = new ArrayList<>(2);
    }
    transformers.add(transformer);
    return this;
  }

  public List<BodyTransformer> transformers() {
    return transformers;
  }

  @Override
  public boolean fromUpstream() {
    return call != null || source != null;
  }

  /** The body source of a response the proxy serves itself (a cache hit), or null. */
  public BodySource source() {
    return source;
  }

  /**
   * Lets {@code observer} see this upstream response's body as it streams and learn whether it ended
   * completely or was cut. Call before the response is returned from the chain.
   */
  public void observeBody(BodyObserver observer) {
    call.observeBody(Objects.requireNonNull(observer, "observer"));
  }

  /**
   * Reads this upstream response's body to its end without sending it to the client (whose response is
   * another one), so the connection can be reused; an observer still sees it.
   */
  public void discardBody() {
    call.discardBody();
  }

  /** The local body, or null. */
  public byte[] body() {
    return body;
  }

  /** The upstream call whose body this response streams, or null. */
  public UpstreamCall call() {
    return call;
  }

  /** The upstream's protocol (for {@code Via}), or null when made locally. */
  public String protocol() {
    return protocol;
  }

  @Override
  public String toString() {
    return "ProxyResponse(" + status + (call != null ? ", from upstream" : source != null ? ", from cache" : "") + ")";
  }
}
