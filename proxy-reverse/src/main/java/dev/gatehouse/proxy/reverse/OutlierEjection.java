package dev.gatehouse.proxy.reverse;

import java.time.Duration;

/**
 * Passive health of a group ({@link OutlierDetection}): counts each server's failures in a row, ejects
 * a server that reaches the limit (within the group's ejection cap), and returns it when its ejection
 * time is over. Times are read from the group's clock. Returning a server is done where a server may be
 * needed, by selection and by the health-check round ({@link #restoreDue}), never by reading status.
 */
final class OutlierEjection {
  private final OutlierDetection settings;
  private final ServerList servers;
  private final HealthEvents events;
  private final Object lock;

  /** @param settings the group's outlier detection, or null for none (then this records nothing) */
  OutlierEjection(OutlierDetection settings, ServerList servers, HealthEvents events, Object lock) {
    this.settings = settings;
    this.servers = servers;
    this.events = events;
    this.lock = lock;
  }

  boolean enabled() {
    return settings != null;
  }

  boolean counts5xx() {
    return settings != null && settings.count5xx();
  }

  void recordSuccess(UpstreamServer s) {
    if (settings != null && s.consecutiveFailures != 0) {
      synchronized (lock) {
        s.consecutiveFailures = 0;
      }
    }
  }

  /** A request to {@code s} failed at {@code now}: ejects it after enough failures in a row. */
  void recordFailure(UpstreamServer s, String reason, long now) {
    if (settings == null) {
      return;
    }
    Duration time;
    synchronized (lock) {
      s.consecutiveFailures++;
      if ((s.ejected && now - s.ejectedUntilNanos < 0) || s.draining
          || s.consecutiveFailures < settings.consecutiveFailures()) {
        return;
      }
      ServerList.Snapshot snap = servers.snapshot();
      int ejectedNow = 0;
      for (Member m : snap.members()) {
        UpstreamServer o = m.server();
        if (o.ejected && now - o.ejectedUntilNanos < 0) {
          ejectedNow++;
        }
      }
      int n = snap.members().size();
      int allowed = settings.maxEjectionPercent() == 0 ? 0 : Math.max(1, n * settings.maxEjectionPercent() / 100);
      if (ejectedNow + 1 > allowed) {
        if (s.consecutiveFailures != settings.consecutiveFailures()) {
          return; // said once already
        }
        HealthEvents.LOG.warn("upstream group {}: {} failed {} times in a row ({}) but is not ejected: {} of {} "
            + "servers already ejected (maxEjectionPercent {})", events.group(), s.key(), s.consecutiveFailures,
            reason, ejectedNow, n, settings.maxEjectionPercent());
        return;
      }
      long maxNanos = settings.maxEjectionTime().toNanos();
      if (s.ejections > 0 && now - s.lastEjectionEndNanos > maxNanos) {
        s.ejections = 0; // behaved for a long time: start over at the base time
      }
      s.ejections++;
      long nanos = Math.min(maxNanos, settings.baseEjectionTime().toNanos() * s.ejections);
      time = Duration.ofNanos(nanos);
      s.ejectedUntilNanos = now + nanos;
      s.ejected = true;
      s.consecutiveFailures = 0;
    }
    String why = "ejected for " + time + " after " + settings.consecutiveFailures() + " consecutive failures (last: "
        + reason + ")";
    HealthEvents.LOG.warn("upstream group {}: {} {}", events.group(), s.key(), why);
    events.fire(s, ServerState.AVAILABLE, ServerState.EJECTED, why);
  }

  /** Returns the ejected servers of {@code snap} whose ejection time is over at {@code now}. */
  void restoreDue(ServerList.Snapshot snap, long now) {
    if (settings == null) {
      return;
    }
    for (Member m : snap.members()) {
      UpstreamServer s = m.server();
      if (s.ejected && now - s.ejectedUntilNanos >= 0) {
        boolean restored = false;
        synchronized (lock) {
          if (s.ejected && now - s.ejectedUntilNanos >= 0) {
            s.ejected = false;
            s.lastEjectionEndNanos = s.ejectedUntilNanos;
            restored = true;
          }
        }
        if (restored) {
          HealthEvents.LOG.info("upstream group {}: {} returns after its ejection", events.group(), s.key());
          events.fire(s, ServerState.EJECTED, s.activeHealthy ? ServerState.AVAILABLE : ServerState.UNHEALTHY,
              "ejection time over");
        }
      }
    }
  }
}
