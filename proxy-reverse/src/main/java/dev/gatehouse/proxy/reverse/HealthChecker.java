package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.spi.IoThread;
import dev.gatehouse.proxy.spi.PoolSettings;
import dev.gatehouse.proxy.spi.ProbeRequest;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a group's active health checks on one of the proxy's I/O threads. Rounds are due by the proxy's
 * clock ({@code ProxyBuilder.clock}): the first at start, then one every interval (plus jitter) after
 * the start of the last. A timer on the I/O thread wakes when the next round should be due and starts
 * it if the clock says so; each server's probe is non-blocking and runs in real time, bounded by the
 * check's timeout. With a clock that a test moves, rounds happen when the test has moved it by an
 * interval, and {@link #runDue()} lets the test wait for them. No thread of its own, so nothing is left
 * behind when the proxy closes.
 */
final class HealthChecker {
  private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);

  private final UpstreamGroup group;
  private final ProxyRuntime engine;
  private final HealthCheck check;
  private volatile boolean stopped;
  private volatile IoThread.Scheduled timer;
  private volatile IoThread thread;
  /** The round in progress, or null; set and cleared on the I/O thread. */
  private volatile CompletableFuture<Void> round;
  // I/O thread only
  private boolean ranOnce;
  private long nextDue;

  HealthChecker(UpstreamGroup group, ProxyRuntime engine) {
    this.group = group;
    this.engine = engine;
    this.check = group.healthCheck();
  }

  ProxyRuntime engine() {
    return engine;
  }

  void start() {
    IoThread t = engine.ioThread();
    if (t == null) {
      return;
    }
    thread = t;
    t.execute(this::tick);
  }

  void stop() {
    stopped = true;
    IoThread.Scheduled t = timer;
    if (t != null) {
      t.cancel();
    }
    CompletableFuture<Void> r = round;
    if (r != null) {
      r.complete(null);
    }
  }

  /**
   * Runs the round that is due by the clock, if any, and completes once no round is due or running:
   * every check of it has reported and its state changes (and {@link HealthEvent}s) are done. For tests
   * that move the clock; callable from any thread.
   */
  CompletableFuture<Void> runDue() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    IoThread t = thread;
    if (t == null || stopped) {
      done.complete(null);
      return done;
    }
    onThread(() -> awaitDue(done), done);
    return done;
  }

  private void awaitDue(CompletableFuture<Void> done) {
    CompletableFuture<Void> r = round;
    if (!stopped && r == null && due()) {
      r = startRound();
    }
    if (stopped || r == null) {
      done.complete(null);
      return;
    }
    r.whenComplete((v, e) -> onThread(() -> awaitDue(done), done));
  }

  private void onThread(Runnable task, CompletableFuture<Void> done) {
    if (stopped) {
      done.complete(null);
      return;
    }
    try {
      thread.execute(task);
    } catch (RejectedExecutionException e) {
      done.complete(null); // the proxy is closing
    }
  }

  private boolean due() {
    return !ranOnce || group.now() - nextDue >= 0;
  }

  /** Starts the round if it is due, then sleeps until the next one should be. */
  private void tick() {
    timer = null;
    if (stopped) {
      return;
    }
    if (round == null && due()) {
      startRound();
    }
    long waitNanos = Math.max(1_000_000L, nextDue - group.now());
    long waitMillis = Math.max(1, Math.min(check.interval().plus(check.jitter()).toMillis() + 1,
        (waitNanos + 999_999) / 1_000_000));
    if (!stopped) {
      timer = thread.schedule(this::tick, waitMillis, TimeUnit.MILLISECONDS);
    }
  }

  /** Probes every server once; the returned stage completes when all have reported. */
  private CompletableFuture<Void> startRound() {
    long now = group.now();
    ranOnce = true;
    long jitter = check.jitter().toNanos();
    nextDue = now + check.interval().toNanos() + (jitter > 0 ? ThreadLocalRandom.current().nextLong(jitter + 1) : 0);
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (engine.ioThread() == null) {
      done.complete(null);
      return done;
    }
    round = done;
    group.ejection().restoreDue(group.snapshot(), now); // even without traffic
    List<Member> members = group.snapshot().members();
    int[] left = {members.size()};
    Runnable reported = () -> {
      if (--left[0] == 0) {
        round = null;
        done.complete(null);
      }
    };
    PoolSettings pool = group.poolSettings(engine.defaultPool());
    for (Member m : members) {
      UpstreamServer s = m.server();
      try {
        engine.probe(thread, new ProbeRequest(s.endpoint(), pool, check.method(), check.path(), check.host(),
            check.timeout()), (status, error) -> {
              if (!stopped) {
                if (error != null) {
                  group.transitions().onCheck(s, false, error.getMessage(), group.now());
                } else {
                  group.transitions().onCheck(s, check.passes(status), "status " + status, group.now());
                }
              }
              reported.run();
            });
      } catch (RuntimeException e) {
        log.warn("upstream group {}: health check of {} could not start", group.name(), s.key(), e);
        reported.run();
      }
    }
    return done;
  }
}
