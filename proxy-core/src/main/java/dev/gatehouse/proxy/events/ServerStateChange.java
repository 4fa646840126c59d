package dev.gatehouse.proxy.events;

import java.util.Objects;

/**
 * A server of an upstream group changed state (reverse proxy), shown to {@link
 * ProxyListener#serverStateChanged}.
 *
 * @param group the group's name
 * @param server the server, {@code scheme://host:port}
 * @param from the state before: {@code AVAILABLE}, {@code UNHEALTHY}, {@code EJECTED} or {@code DRAINING}
 * @param to the state now, one of the same
 * @param reason why, for humans, e.g. {@code 3 health check(s) failed (last: status 500)}
 */
public record ServerStateChange(String group, String server, String from, String to, String reason) {

  /** Checks that no component is null. */
  public ServerStateChange {
    Objects.requireNonNull(group, "group");
    Objects.requireNonNull(server, "server");
    Objects.requireNonNull(from, "from");
    Objects.requireNonNull(to, "to");
    Objects.requireNonNull(reason, "reason");
  }
}
