package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.HttpHeaders;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

/** The mutable request a filter sees; backed by the Undertow exchange's header map. */
public final class RequestImpl extends MutableRequest {
  private final HttpServerExchange hse;
  private final HeaderMapHeaders headers;
  private String scheme;
  private String authority;
  private final long contentLength;
  /**
   * An HTTP/2 request that declares {@code content-length: 0} while its stream is still open: its body
   * is read (it must turn out empty) and the upstream head is held back until the stream has ended.
   */
  private final boolean emptyBodyToVerify;

  public RequestImpl(HttpServerExchange hse, String scheme, String authority, String path, String query, long contentLength,
      boolean emptyBodyToVerify) {
    super(hse.getRequestMethod().toString(), path, query);
    this.hse = hse;
    this.headers = new HeaderMapHeaders(hse.getRequestHeaders());
    this.scheme = scheme;
    this.authority = authority;
    this.contentLength = contentLength;
    this.emptyBodyToVerify = emptyBodyToVerify;
  }

  @Override
  public String scheme() {
    return scheme;
  }

  /** For the forward proxy, which takes the scheme from the request target. */
  public void scheme(String scheme) {
    this.scheme = scheme;
  }

  @Override
  public String authority() {
    if (authority != null) {
      return authority;
    }
    String host = hse.getRequestHeaders().getFirst(Headers.HOST);
    return host == null ? "" : host;
  }

  /** For the forward proxy: the authority of the absolute-form target. */
  public void authority(String authority) {
    this.authority = authority;
  }

  @Override
  public String protocol() {
    return hse.getProtocol().toString();
  }

  @Override
  public HttpHeaders headers() {
    return headers;
  }

  public HeaderMapHeaders headerMap() {
    return headers;
  }

  @Override
  public long contentLength() {
    return contentLength;
  }

  /** Whether the client sends a body (declared length above 0, or chunked). */
  public boolean hasBody() {
    return contentLength != 0 || emptyBodyToVerify;
  }
}
