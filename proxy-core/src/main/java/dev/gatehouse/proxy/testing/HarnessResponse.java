package dev.gatehouse.proxy.testing;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.ProxyResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** The scripted upstream's response as filters see it: its body arrives after the filters return. */
final class HarnessResponse implements ProxyResponse {
  private int status;
  private final HarnessHeaders headers;
  final byte[] body;
  List<BodyTransformer> transformers;

  HarnessResponse(int status, HarnessHeaders headers, byte[] body) {
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  @Override
  public int status() {
    return status;
  }

  @Override
  public ProxyResponse status(int status) {
    if (status < 200 || status > 599) {
      throw new IllegalArgumentException("status: " + status + " (expected: 200-599)");
    }
    this.status = status;
    return this;
  }

  @Override
  public HttpHeaders headers() {
    return headers;
  }

  HarnessHeaders headerMap() {
    return headers;
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

  @Override
  public boolean fromUpstream() {
    return true;
  }

  @Override
  public String toString() {
    return "ProxyResponse(" + status + ", from upstream)";
  }
}
