package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.internal.Engine;
import dev.gatehouse.proxy.internal.HealthProbe;
import dev.gatehouse.proxy.internal.PoolSettings;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;
import org.xnio.XnioWorker;

/**
 * Runs a group's active health checks on one of the proxy's I/O threads: a timer starts a round every
 * interval (plus jitter) and each server's probe is non-blocking. No thread of its own, so nothing is
 * left behind when the proxy closes.
 */
final class HealthChecker {
  private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);

  private final UpstreamGroup group;
  private final Engine engine;
  private final HealthCheck check;
  private volatile boolean stopped;
  private volatile XnioExecutor.Key timer;
  private XnioIoThread thread;

  HealthChecker(UpstreamGroup group, Engine engine) {
    this.group = group;
    this.engine = engine;
    this.check = group.healthCheck();
  }

  Engine engine() {
    return engine;
  }

  void start() {
    XnioWorker worker = engine.worker();
    if (worker == null) {
      return;
    }
    thread = worker.getIoThread();
    thread.execute(this::round);
  }

  void stop() {
    stopped = true;
    XnioExecutor.Key t = timer;
    if (t != null) {
      t.remove();
    }
  }

  private void round() {
    if (stopped) {
      return;
    }
    XnioWorker worker = engine.worker();
    if (worker == null) {
      return;
    }
    group.ejection().restoreDue(group.snapshot(), group.now()); // even without traffic
    for (Member m : group.snapshot().members()) {
      UpstreamServer s = m.server();
      try {
        PoolSettings pool = group.poolSettings(engine.config());
        HealthProbe.check(thread, worker, s.endpoint(), pool.tls(), pool.http2(), check.method(),
            check.path(), check.host(), check.timeout(), (status, error) -> {
              if (stopped) {
                return;
              }
              if (error != null) {
                group.transitions().onCheck(s, false, error.getMessage(), group.now());
              } else {
                group.transitions().onCheck(s, check.passes(status), "status " + status, group.now());
              }
            });
      } catch (RuntimeException e) {
        log.warn("upstream group {}: health check of {} could not start", group.name(), s.key(), e);
      }
    }
    long delay = check.interval().toMillis();
    long jitter = check.jitter().toMillis();
    if (jitter > 0) {
      delay += ThreadLocalRandom.current().nextLong(jitter + 1);
    }
    if (!stopped) {
      timer = thread.executeAfter(this::round, delay, TimeUnit.MILLISECONDS);
    }
  }
}
