package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.internal.Endpoint;
import java.net.URI;

/** One server of a group. */
final class UpstreamServer {
  private final URI uri;
  private final int weight;
  private final Endpoint endpoint;

  UpstreamServer(URI uri, int weight) {
    this.uri = uri;
    this.weight = weight;
    this.endpoint = Endpoint.of(uri);
  }

  URI uri() {
    return uri;
  }

  int weight() {
    return weight;
  }

  Endpoint endpoint() {
    return endpoint;
  }

  @Override
  public String toString() {
    return endpoint + (weight != 1 ? " weight=" + weight : "");
  }
}
