package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.spi.ProxyRuntime;

/**
 * A group's clock: the clock of the proxy the group was built into ({@code ProxyBuilder.clock}), read as
 * nanoseconds by {@link ProxyRuntime#nanoTime()}; {@link System#nanoTime()} before the group is built
 * into a proxy. Every proxy using a group must have the same clock.
 */
final class GroupClock {
  private final String group;
  private volatile ProxyRuntime source;

  GroupClock(String group) {
    this.group = group;
  }

  /** Now, in nanoseconds. */
  long now() {
    ProxyRuntime c = source;
    return c == null ? System.nanoTime() : c.nanoTime();
  }

  /**
   * Takes the clock of a proxy the group is built into.
   *
   * @throws IllegalStateException if another proxy using the group has another clock
   */
  synchronized void bind(ProxyRuntime config) {
    ProxyRuntime current = source;
    if (current != null && current.clock() != config.clock()) {
      throw new IllegalStateException("clock: " + config.clock() + " (expected: the clock of the other proxy "
          + "using upstream group " + group + ", " + current.clock() + ")");
    }
    source = config;
  }
}
