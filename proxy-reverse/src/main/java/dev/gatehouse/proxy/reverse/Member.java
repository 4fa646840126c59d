package dev.gatehouse.proxy.reverse;

/**
 * A server and its weight in one version of a group's server list: what a {@link LoadBalancing}
 * policy sees of it.
 */
record Member(UpstreamServer server, int weight) implements LoadBalancing.Server {

  @Override
  public String uri() {
    return server.key();
  }

  @Override
  public int activeRequests() {
    return server.inFlight();
  }

  @Override
  public String toString() {
    return server.key() + (weight != 1 ? " weight=" + weight : "");
  }
}
