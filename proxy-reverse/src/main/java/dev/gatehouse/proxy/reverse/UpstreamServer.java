package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.spi.Endpoint;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One server of a group and its live state: requests in flight, active health and passive outlier
 * state. The object lives as long as the server is in the group (across re-weighting) and while it
 * drains after removal.
 */
final class UpstreamServer {
  private final URI uri;
  private final String key;
  private final Endpoint endpoint;
  private final String id;
  private final AtomicInteger inFlight = new AtomicInteger();

  // Health: written under the group's lock, read without it.
  volatile boolean activeHealthy = true;
  volatile long ejectedUntilNanos;
  volatile boolean ejected;
  volatile boolean draining;
  int healthPasses;
  int healthFailures;
  int consecutiveFailures;
  int ejections;
  long lastEjectionEndNanos;

  UpstreamServer(ServerUri address) {
    this.uri = address.uri();
    this.key = address.key();
    this.endpoint = Endpoint.of(uri);
    this.id = idOf(key);
  }

  /** A short stable id for sticky cookies: does not reveal the server's address. */
  private static String idOf(String key) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < 6; i++) {
        sb.append(String.format("%02x", d[i]));
      }
      return sb.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  URI uri() {
    return uri;
  }

  /** {@code scheme://host:port} as added; the identity of the server within its group. */
  String key() {
    return key;
  }

  String id() {
    return id;
  }

  Endpoint endpoint() {
    return endpoint;
  }

  int inFlight() {
    return inFlight.get();
  }

  /** Takes a request slot unless {@code max} (0 = no limit) are in use. */
  boolean tryAcquire(int max) {
    if (max <= 0) {
      inFlight.incrementAndGet();
      return true;
    }
    for (;;) {
      int n = inFlight.get();
      if (n >= max) {
        return false;
      }
      if (inFlight.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  void release() {
    inFlight.decrementAndGet();
  }

  /** {@code host:port} as added, for log lines. */
  String authority() {
    return uri.getRawAuthority();
  }

  /** The state at {@code now} (on the group's clock); reads only, changes nothing. */
  ServerState state(long now) {
    if (draining) {
      return ServerState.DRAINING;
    }
    if (!activeHealthy) {
      return ServerState.UNHEALTHY;
    }
    if (ejected && now - ejectedUntilNanos < 0) {
      return ServerState.EJECTED;
    }
    return ServerState.AVAILABLE;
  }

  /** Whether the server takes new requests at {@code now} (ignoring concurrency limits). */
  boolean available(long now) {
    return activeHealthy && !draining && (!ejected || now - ejectedUntilNanos >= 0);
  }

  @Override
  public String toString() {
    return key;
  }
}
