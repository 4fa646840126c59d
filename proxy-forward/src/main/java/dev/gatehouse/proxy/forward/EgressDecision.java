package dev.gatehouse.proxy.forward;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * What the {@link EgressPolicy} decided for one request: allowed or not, and the rule that decided. A
 * filter reads it with {@code exchange.attribute(ForwardProxy.EGRESS_DECISION)}; the access log shows
 * the rule.
 */
public final class EgressDecision {
  private final boolean allowed;
  private final String rule;
  private final String host;
  private final int port;
  private final @Nullable InetAddress address;

  EgressDecision(boolean allowed, String rule, String host, int port, @Nullable InetAddress address) {
    this.allowed = allowed;
    this.rule = Objects.requireNonNull(rule, "rule");
    this.host = host;
    this.port = port;
    this.address = address;
  }

  /**
   * A decision made elsewhere than in an {@link EgressPolicy} (e.g. by a test, or the proxy's loop
   * check).
   */
  public static EgressDecision of(boolean allowed, String rule, String host, int port,
      @Nullable InetAddress address) {
    return new EgressDecision(allowed, rule, Objects.requireNonNull(host, "host"), port, address);
  }

  /** Whether the request may go to its destination. */
  public boolean allowed() {
    return allowed;
  }

  /**
   * The rule that decided, e.g. {@code allow host *.example.com}, {@code deny address 10.0.0.0/8},
   * {@code default deny loopback 127.0.0.0/8}, {@code deny connect port 8443 (allowed: 443)}.
   */
  public String rule() {
    return rule;
  }

  /** The destination host as requested (lower case, without brackets for IPv6). */
  public String host() {
    return host;
  }

  /** The destination port. */
  public int port() {
    return port;
  }

  /**
   * The address the decision was made for, which is the address the proxy connects to; empty when the
   * request goes through a parent proxy, which resolves the name itself.
   */
  public Optional<InetAddress> address() {
    return Optional.ofNullable(address);
  }

  @Override
  public String toString() {
    return (allowed ? "allowed" : "denied") + " " + host + ":" + port
        + (address != null ? " (" + address.getHostAddress() + ")" : "") + " by " + rule;
  }
}
