package dev.gatehouse.proxy.reverse;

/**
 * Active health of a group: turns each server's check results into state changes. {@link
 * HealthCheck#unhealthyThreshold()} failed checks in a row make a server {@link ServerState#UNHEALTHY};
 * {@link HealthCheck#healthyThreshold()} passed ones in a row bring it back (and end an ejection).
 * Thresholds count checks, so the timing of a change is that of the rounds ({@link HealthChecker}).
 */
final class HealthTransitions {
  private final HealthCheck check;
  private final HealthEvents events;
  private final Object lock;

  HealthTransitions(HealthCheck check, HealthEvents events, Object lock) {
    this.check = check;
    this.events = events;
    this.lock = lock;
  }

  /** The outcome of one check of {@code s}, finished at {@code now} (the group's clock). */
  void onCheck(UpstreamServer s, boolean passed, String detail, long now) {
    ServerState from = null;
    ServerState to = null;
    String why = null;
    synchronized (lock) {
      if (passed) {
        s.healthFailures = 0;
        if (!s.activeHealthy && ++s.healthPasses >= check.healthyThreshold()) {
          s.activeHealthy = true;
          s.healthPasses = 0;
          s.ejected = false;
          s.consecutiveFailures = 0;
          from = ServerState.UNHEALTHY;
          to = s.draining ? ServerState.DRAINING : ServerState.AVAILABLE;
          why = check.healthyThreshold() + " health check(s) passed";
        }
      } else {
        s.healthPasses = 0;
        if (s.activeHealthy && ++s.healthFailures >= check.unhealthyThreshold()) {
          from = s.state(now);
          s.activeHealthy = false;
          s.healthFailures = 0;
          to = ServerState.UNHEALTHY;
          why = check.unhealthyThreshold() + " health check(s) failed (last: " + detail + ")";
        }
      }
    }
    if (to != null) {
      if (to == ServerState.UNHEALTHY) {
        HealthEvents.LOG.warn("upstream group {}: {} is unhealthy: {}", events.group(), s.key(), why);
      } else {
        HealthEvents.LOG.info("upstream group {}: {} is healthy again: {}", events.group(), s.key(), why);
      }
      events.fire(s, from, to, why);
    }
  }
}
