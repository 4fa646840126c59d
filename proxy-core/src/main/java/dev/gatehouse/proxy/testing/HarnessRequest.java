package dev.gatehouse.proxy.testing;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.ProxyRequest;
import dev.gatehouse.proxy.internal.http1.Http;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The request filters see in the harness, with the engine's checks on what they change. */
final class HarnessRequest implements ProxyRequest {
  private String method;
  private final String scheme;
  private final String authority;
  private String path;
  private String query;
  private final String protocol;
  private final HarnessHeaders headers = new HarnessHeaders();
  private final long contentLength;
  final byte[] body;
  List<BodyTransformer> transformers;

  HarnessRequest(TestRequest r) {
    this.method = r.method();
    this.scheme = r.scheme();
    this.authority = r.authority();
    this.path = r.path();
    this.query = r.query();
    this.protocol = r.protocol();
    for (Map.Entry<String, String> h : r.headers()) {
      headers.add(h.getKey(), h.getValue());
    }
    if (!headers.contains("Host")) {
      headers.set("Host", authority);
    }
    this.body = r.body();
    this.contentLength = body.length;
    if (body.length > 0) {
      headers.set("Content-Length", Integer.toString(body.length));
    }
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

  @Override
  public String authority() {
    return authority;
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
    return protocol;
  }

  @Override
  public HttpHeaders headers() {
    return headers;
  }

  HarnessHeaders headerMap() {
    return headers;
  }

  @Override
  public long contentLength() {
    return contentLength;
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

  @Override
  public String toString() {
    return method + " " + pathAndQuery();
  }
}
