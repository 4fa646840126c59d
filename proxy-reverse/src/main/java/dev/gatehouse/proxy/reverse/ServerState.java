package dev.gatehouse.proxy.reverse;

/** Whether a server of an {@link UpstreamGroup} gets new requests, and if not, why. */
public enum ServerState {
  /** Gets requests. */
  AVAILABLE,
  /** Failed its active health checks ({@link HealthCheck#unhealthyThreshold()} in a row); gets no requests until it passes again. */
  UNHEALTHY,
  /** Ejected by outlier detection after consecutive failures; returns by itself when the ejection time is over. */
  EJECTED,
  /** Removed from the group at runtime; finishes the requests it has and gets no new ones. */
  DRAINING
}
