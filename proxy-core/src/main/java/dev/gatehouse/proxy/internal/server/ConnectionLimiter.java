package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.ProxyStartException;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import io.undertow.Undertow;
import io.undertow.server.AbstractServerConnection;
import io.undertow.server.ServerConnection;
import java.io.IOException;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.ChannelListener;
import org.xnio.ChannelListeners;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.channels.AcceptingChannel;

/**
 * Counts client connections as the listener accepts them, in total and per client IP address, and
 * closes a connection beyond {@code maxClientConnections} or {@code maxClientConnectionsPerIp} at once,
 * before anything is read from it (no TLS handshake, no request): each such refusal is counted in the
 * metrics and reported to the listeners ({@code limitReached}). It takes the place of Undertow's accept
 * listener, then hands each admitted connection to Undertow's own open listener.
 *
 * <p>A connection is counted until it closes: it gets a close listener of its own before Undertow's (XNIO
 * merges them), and its first request adds a close listener of the HTTP connection too. Should a
 * connection still close unseen, the count is corrected when a limit is reached: connections no longer
 * open are dropped before anything is refused.
 */
final class ConnectionLimiter {
  private static final Logger log = LoggerFactory.getLogger(ConnectionLimiter.class);
  /** Least time between two sweeps of closed connections (each looks at every connection). */
  private static final long SWEEP_NANOS = 100_000_000L;

  private final int maxTotal;
  private final int maxPerIp;
  private final Telemetry telemetry;
  private final AtomicInteger total = new AtomicInteger();
  private final Map<InetAddress, Integer> perIp = new ConcurrentHashMap<>();
  /** Every counted connection (StreamConnection has identity equality). */
  private final Map<StreamConnection, Counted> open = new ConcurrentHashMap<>();
  private final AtomicLong lastSweep = new AtomicLong(System.nanoTime() - SWEEP_NANOS);

  private ConnectionLimiter(ClientLimits limits, Telemetry telemetry) {
    this.maxTotal = limits.maxConnections();
    this.maxPerIp = limits.maxConnectionsPerIp();
    this.telemetry = telemetry;
  }

  /**
   * Takes over the accepting of every listener of {@code undertow} (started).
   *
   * @throws ProxyStartException if this Undertow keeps its listener's parts where they cannot be reached
   */
  static ConnectionLimiter install(Undertow undertow, ClientLimits limits, Telemetry telemetry) {
    ConnectionLimiter limiter = new ConnectionLimiter(limits, telemetry);
    for (Undertow.ListenerInfo li : undertow.getListenerInfo()) {
      AcceptingChannel<StreamConnection> channel;
      ChannelListener<StreamConnection> openListener;
      try {
        channel = field(li, "channel");
        openListener = field(li, "openListener");
      } catch (ReflectiveOperationException | RuntimeException e) {
        throw new ProxyStartException("maxClientConnections needs to count accepted connections, and this Undertow "
            + "version hides its listener (expected: io.undertow:undertow-core 2.4)", e);
      }
      channel.getAcceptSetter().set(ch -> limiter.accept(ch, openListener));
    }
    return limiter;
  }

  @SuppressWarnings("unchecked")
  private static <T> T field(Undertow.ListenerInfo li, String name) throws ReflectiveOperationException {
    Field f = Undertow.ListenerInfo.class.getDeclaredField(name);
    f.setAccessible(true);
    return (T) f.get(li);
  }

  /** Accepts one connection; on the I/O thread the accepting channel calls. */
  private void accept(AcceptingChannel<StreamConnection> channel, ChannelListener<StreamConnection> openListener) {
    StreamConnection c;
    try {
      c = channel.accept();
    } catch (IOException e) {
      log.debug("accept failed: {}", e.toString());
      return;
    }
    if (c == null) {
      return;
    }
    InetSocketAddress peer = c.getPeerAddress(InetSocketAddress.class);
    InetAddress ip = peer == null ? null : peer.getAddress();
    String refused = admit(ip);
    if (refused != null) {
      IoUtils.safeClose(c);
      log.debug("refused a connection from {}: {} limit reached", peer, refused);
      telemetry.limitReached(peer, refused);
      return;
    }
    Counted counted = new Counted(c, ip);
    open.put(c, counted);
    // XNIO merges close listeners: Undertow's, set by its open listener (again when ALPN picks HTTP/1.1),
    // come on top of this one, which only frees the place
    c.setCloseListener(closed -> release(counted));
    ChannelListeners.invokeChannelListener(c, openListener);
    if (!c.isOpen()) {
      release(counted); // closed while being opened
    }
  }

  /** Takes a place for a connection from {@code ip}; returns the limit that refuses it, or null. */
  private String admit(InetAddress ip) {
    if (maxTotal > 0 && !reserveTotal()) {
      sweep();
      if (!reserveTotal()) {
        return ClientLimits.CONNECTIONS;
      }
    }
    if (maxPerIp > 0 && ip != null && !reserveIp(ip)) {
      sweep();
      if (!reserveIp(ip)) {
        if (maxTotal > 0) {
          total.decrementAndGet();
        }
        return ClientLimits.CONNECTIONS_PER_IP;
      }
    }
    return null;
  }

  private boolean reserveTotal() {
    for (;;) {
      int n = total.get();
      if (n >= maxTotal) {
        return false;
      }
      if (total.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  private boolean reserveIp(InetAddress ip) {
    boolean[] taken = {false};
    perIp.compute(ip, (k, n) -> {
      int have = n == null ? 0 : n;
      if (have >= maxPerIp) {
        return n;
      }
      taken[0] = true;
      return have + 1;
    });
    return taken[0];
  }

  /** A connection of {@link #open} closed: its place is free again (once). */
  private void release(Counted c) {
    if (!c.released.compareAndSet(false, true)) {
      return;
    }
    open.remove(c.connection);
    if (maxTotal > 0) {
      total.decrementAndGet();
    }
    if (maxPerIp > 0 && c.ip != null) {
      perIp.computeIfPresent(c.ip, (k, n) -> n <= 1 ? null : n - 1);
    }
  }

  /** Drops the connections that closed without their close listener telling (at most every 100 ms). */
  private void sweep() {
    long now = System.nanoTime();
    long last = lastSweep.get();
    if (now - last < SWEEP_NANOS || !lastSweep.compareAndSet(last, now)) {
      return;
    }
    for (Counted c : open.values()) {
      if (!c.connection.isOpen()) {
        release(c);
      }
    }
  }

  /**
   * The first request of {@code connection}: its HTTP connection's close listener frees its place too
   * (Undertow may have replaced the stream connection's, when ALPN chose HTTP/1.1).
   */
  void firstRequest(ServerConnection connection) {
    if (connection instanceof AbstractServerConnection asc) {
      Counted c = open.get(asc.getChannel());
      if (c != null) {
        connection.addCloseListener(closed -> release(c));
      }
    }
  }

  /** Client connections counted now. */
  int openConnections() {
    return open.size();
  }

  /** A counted connection. */
  private static final class Counted {
    final StreamConnection connection;
    final InetAddress ip;
    final AtomicBoolean released = new AtomicBoolean();

    Counted(StreamConnection connection, InetAddress ip) {
      this.connection = connection;
      this.ip = ip;
    }
  }
}
