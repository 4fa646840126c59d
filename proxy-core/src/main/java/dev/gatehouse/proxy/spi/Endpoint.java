package dev.gatehouse.proxy.spi;

import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Where a request is sent: scheme, host and port, and optionally the address already resolved (the
 * forward proxy resolves once and connects to exactly what its egress policy checked).
 */
public final class Endpoint {
  private final String scheme;
  private final String host;
  private final int port;
  private final @Nullable InetSocketAddress address;
  private final String key;
  private final String authority;

  public Endpoint(String scheme, String host, int port, @Nullable InetSocketAddress address) {
    this.scheme = scheme.toLowerCase(Locale.ROOT);
    this.host = Objects.requireNonNull(host, "host");
    this.port = port;
    this.address = address;
    String h = host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
    boolean defaultPort = ("http".equals(this.scheme) && port == 80) || ("https".equals(this.scheme) && port == 443);
    this.authority = defaultPort ? h : h + ":" + port;
    this.key = this.scheme + "://" + h + ":" + port
        + (address != null && !address.isUnresolved() ? "@" + address.getAddress().getHostAddress() : "");
  }

  /** Parses {@code http://host:port} (any path is ignored). */
  public static Endpoint of(java.net.URI uri) {
    String scheme = uri.getScheme();
    int port = uri.getPort();
    if (port < 0) {
      port = "https".equalsIgnoreCase(scheme) ? 443 : 80;
    }
    String host = uri.getHost();
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new Endpoint(scheme, host, port, null);
  }

  public String scheme() {
    return scheme;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  /** The resolved address, or null if it is to be resolved when connecting. */
  public @Nullable InetSocketAddress address() {
    return address;
  }

  /** {@code host[:port]} as it would appear in a Host header (default port omitted). */
  public String authority() {
    return authority;
  }

  /** The connection-pool key. */
  public String key() {
    return key;
  }

  public boolean isTls() {
    return "https".equals(scheme);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof Endpoint && ((Endpoint) o).key.equals(key);
  }

  @Override
  public int hashCode() {
    return key.hashCode();
  }

  @Override
  public String toString() {
    return scheme + "://" + authority;
  }
}
