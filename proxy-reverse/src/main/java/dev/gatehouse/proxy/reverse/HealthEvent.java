package dev.gatehouse.proxy.reverse;

/**
 * A server of an {@link UpstreamGroup} changed state; see {@link UpstreamGroup.Builder#onHealthChange}.
 *
 * @param group the group's name
 * @param server the server's URI
 * @param from the state before
 * @param to the state now
 * @param reason why, e.g. {@code 3 failed health checks (last: status 500)}
 */
public record HealthEvent(String group, String server, ServerState from, ServerState to, String reason) {}
