package dev.gatehouse.proxy.testing;

import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.internal.exchange.MutableRequest;
import java.util.Map;

/** The request filters see in the harness, with the engine's checks on what they change. */
final class HarnessRequest extends MutableRequest {
  private final String scheme;
  private final String authority;
  private final String protocol;
  private final HarnessHeaders headers = new HarnessHeaders();
  private final long contentLength;
  final byte[] body;

  HarnessRequest(TestRequest r) {
    super(r.method(), r.path(), r.query());
    this.scheme = r.scheme();
    this.authority = r.authority();
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
  public String scheme() {
    return scheme;
  }

  @Override
  public String authority() {
    return authority;
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
}
