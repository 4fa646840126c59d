package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.ProxyRequest;
import dev.gatehouse.proxy.internal.http1.Http;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What the engine's request ({@link RequestImpl}) and the filter harness's share: the method, path and
 * query a filter may change, each change checked the same way, and the body transformers it adds.
 */
public abstract class MutableRequest implements ProxyRequest {
  private String method;
  private String path;
  private String query;
  private List<BodyTransformer> transformers;

  /** For the two implementations. */
  protected MutableRequest(String method, String path, String query) {
    this.method = method;
    this.path = path;
    this.query = query;
  }

  @Override
  public final String method() {
    return method;
  }

  @Override
  public final ProxyRequest method(String method) {
    Objects.requireNonNull(method, "method");
    if (!Http.isToken(method)) {
      throw new IllegalArgumentException("method: \"" + method + "\" (expected: an RFC 9110 token such as GET)");
    }
    this.method = method;
    return this;
  }

  @Override
  public final String path() {
    return path;
  }

  @Override
  public final ProxyRequest path(String rawPath) {
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
  public final String query() {
    return query;
  }

  @Override
  public final ProxyRequest query(String rawQuery) {
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
  public final ProxyRequest transformBody(BodyTransformer transformer) {
    Objects.requireNonNull(transformer, "transformer");
    if (transformers == null) {
      transformers = new ArrayList<>(2);
    }
    transformers.add(transformer);
    return this;
  }

  /** Registered transformers, or null. */
  public final List<BodyTransformer> transformers() {
    return transformers;
  }

  @Override
  public String toString() {
    return method + " " + pathAndQuery();
  }
}
