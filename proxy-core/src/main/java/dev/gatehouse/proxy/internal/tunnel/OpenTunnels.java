package dev.gatehouse.proxy.internal.tunnel;

import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's open tunnels: {@code CONNECT} tunnels (also through a parent proxy, and intercepted ones
 * passed through) and upgraded connections such as WebSockets. {@code close()} lets them run through the
 * grace period and then closes those still open, with a log line each.
 */
public final class OpenTunnels {
  private static final Logger log = LoggerFactory.getLogger(OpenTunnels.class);
  /** How long {@link #closeAll} waits for the closed tunnels to report their end. */
  private static final long END_WAIT_MS = 5000;

  /** What a tunnel is, for the line logged when it is closed at shutdown. */
  private record Entry(String kind, ExchangeImpl exchange, long openedNanos) {}

  private final Map<Tunnel, Entry> open = new ConcurrentHashMap<>();
  private final Object lock = new Object();

  /**
   * Adds a tunnel that has started and not ended yet.
   *
   * @param kind what it is, e.g. {@code CONNECT tunnel} or {@code WebSocket}
   * @param exchange the exchange that opened it
   */
  public void opened(Tunnel tunnel, String kind, ExchangeImpl exchange) {
    open.put(tunnel, new Entry(kind, exchange, System.nanoTime()));
  }

  /** Removes a tunnel that has ended (from its listener). */
  public void ended(Tunnel tunnel) {
    if (open.remove(tunnel) != null) {
      synchronized (lock) {
        lock.notifyAll();
      }
    }
  }

  /** Tunnels open now. */
  public int size() {
    return open.size();
  }

  /**
   * Closes every open tunnel, logging each with what it carried, and waits a little for them to end
   * (their access-log lines are written as they do).
   *
   * @param why the end of the line logged for each, e.g. {@code at the end of the shutdown grace period PT10S}
   */
  public void closeAll(String why) {
    List<Map.Entry<Tunnel, Entry>> snapshot = new ArrayList<>(open.entrySet());
    if (snapshot.isEmpty()) {
      return;
    }
    long now = System.nanoTime();
    for (Map.Entry<Tunnel, Entry> e : snapshot) {
      Tunnel t = e.getKey();
      Entry en = e.getValue();
      log.info("closing {} {} from {} after {} ({} bytes up, {} bytes down) {}", en.kind(), target(en.exchange()),
          en.exchange().clientAddress(), Duration.ofMillis(TimeUnit.NANOSECONDS.toMillis(now - en.openedNanos())),
          t.bytesAtoB(), t.bytesBtoA(), why);
      t.close("shutdown");
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(END_WAIT_MS);
    // an interrupt does not cut this short (the tunnels' log lines would be lost); it is passed on when done
    boolean interrupted = false;
    synchronized (lock) {
      while (!open.isEmpty()) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          log.warn("{} tunnels still open {} ms after they were closed", open.size(), END_WAIT_MS);
          break;
        }
        try {
          lock.wait(left);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static String target(ExchangeImpl ex) {
    String authority = ex.request().authority();
    return "CONNECT".equals(ex.request().method()) ? "to " + authority : "to " + ex.request().path();
  }
}
