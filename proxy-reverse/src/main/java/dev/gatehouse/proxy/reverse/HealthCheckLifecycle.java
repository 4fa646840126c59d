package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.spi.ProxyRuntime;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a group's active health checks while a proxy using the group runs: one {@link HealthChecker} per
 * group, on the first running proxy, moved to another running proxy when that one closes.
 */
final class HealthCheckLifecycle {
  private final UpstreamGroup group;
  private final List<ProxyRuntime> running = new ArrayList<>();
  private HealthChecker checker;

  HealthCheckLifecycle(UpstreamGroup group) {
    this.group = group;
  }

  /** A proxy using the group runs: checks run on it unless they run on another already. */
  synchronized void started(ProxyRuntime engine) {
    if (running.contains(engine)) {
      return;
    }
    running.add(engine);
    if (checker == null) {
      checker = new HealthChecker(group, engine);
      checker.start();
    }
  }

  /** A proxy using the group closed, or no longer uses it: checks move to another, or stop. */
  synchronized void stopped(ProxyRuntime engine) {
    running.remove(engine);
    if (checker != null && checker.engine() == engine) {
      checker.stop();
      checker = null;
      if (!running.isEmpty()) {
        checker = new HealthChecker(group, running.get(0));
        checker.start();
      }
    }
  }

  /** The checker now running, or null. */
  synchronized HealthChecker checker() {
    return checker;
  }
}
