package dev.gatehouse.proxy.internal.server;

/**
 * The limits that protect the proxy from its clients, as set on the builder; 0 is no limit.
 *
 * @param maxConnections client connections open at once
 * @param maxConnectionsPerIp client connections open at once from one IP address
 * @param maxExchanges exchanges in flight at once
 */
public record ClientLimits(int maxConnections, int maxConnectionsPerIp, int maxExchanges) {
  /** The {@code limit} reported when {@code maxClientConnections} refused a connection. */
  public static final String CONNECTIONS = "connections";
  /** The {@code limit} reported when {@code maxClientConnectionsPerIp} refused a connection. */
  public static final String CONNECTIONS_PER_IP = "connections-per-ip";
  /** The {@code limit} reported when {@code maxConcurrentExchanges} answered a request 503. */
  public static final String EXCHANGES = "exchanges";

  /** No limit at all. */
  public static final ClientLimits NONE = new ClientLimits(0, 0, 0);

  /** Whether connections are counted when they are accepted. */
  boolean limitsConnections() {
    return maxConnections > 0 || maxConnectionsPerIp > 0;
  }
}
