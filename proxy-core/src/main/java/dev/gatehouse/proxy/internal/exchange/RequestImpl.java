package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.ProxyRequest;
import dev.gatehouse.proxy.internal.http1.Http;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** The mutable request a filter sees; backed by the Undertow exchange's header map. */
public final class RequestImpl implements ProxyRequest {
  private final HttpServerExchange hse;
  private final HeaderMapHeaders headers;
  private String method;
  private String scheme;
  private String authority;
  private String path;
  private String query;
  private final long contentLength;
  /**
   * An HTTP/2 request that declares {@code content-length: 0} while its stream is still open: its body
   * is read (it must turn out empty) and the upstream head is held back until the stream has ended.
   */
  private final boolean emptyBodyToVerify;
  private List<BodyTransformer> transformers;

  public RequestImpl(HttpServerExchange hse, String scheme, String authority, String path, String query, long contentLength,
      boolean emptyBodyToVerify) {
    this.hse = hse;
    this.headers = new HeaderMapHeaders(hse.getRequestHeaders());
    this.method = hse.getRequestMethod().toString();
    this.scheme = scheme;
    this.authority = authority;
    this.path = path;
    this.query = query;
    this.contentLength = contentLength;
    this.emptyBodyToVerify = emptyBodyToVerify;
  }

  @Override
  public String method() {
    return method;
  }

  @Override
  public ProxyRequest method(String method) {
    Objects.requireNonNull(method, "method");
    if (!Http.isToken(method)) {
      throw new IllegalArgumentException("method: \"" + method + "\" (expected: an RFC 9110 token such as GET)");
    }
    this.method = method;
    return this;
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
  public String path() {
    return path;
  }

  @Override
  public ProxyRequest path(String rawPath) {
    Objects.requireNonNull(rawPath, "rawPath");
    if (!rawPath.startsWith("/")) {
      throw new IllegalArgumentException("path: \"" + rawPath + "\" (expected: starts with /)");
    }
    for (int i = 0; i < rawPath.length(); i++) {
      char c = rawPath.charAt(i);
      if (c <= ' ' || c >= 0x7F || c == '?' || c == '#') {
        throw new IllegalArgumentException("path: \"" + rawPath
            + "\" (expected: percent-encoded, without whitespace, controls, ? or #)");
      }
    }
    this.path = rawPath;
    return this;
  }

  @Override
  public String query() {
    return query;
  }

  @Override
  public ProxyRequest query(String rawQuery) {
    Objects.requireNonNull(rawQuery, "rawQuery");
    for (int i = 0; i < rawQuery.length(); i++) {
      char c = rawQuery.charAt(i);
      if (c <= ' ' || c >= 0x7F || c == '#') {
        throw new IllegalArgumentException("query: \"" + rawQuery
            + "\" (expected: percent-encoded, without whitespace, controls or #)");
      }
    }
    this.query = rawQuery;
    return this;
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

  @Override
  public ProxyRequest transformBody(BodyTransformer transformer) {
    Objects.requireNonNull(transformer, "transformer");
    if (transformers == null) {
      transformers = new ArrayList<>(2);
    }
    transformers.add(transformer);
    return this;
  }

  /** Registered transformers, or null. */
  public List<BodyTransformer> transformers() {
    return transformers;
  }

  @Override
  public String toString() {
    return method + " " + pathAndQuery();
  }
}
