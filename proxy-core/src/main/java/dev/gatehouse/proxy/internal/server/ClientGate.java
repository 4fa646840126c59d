package dev.gatehouse.proxy.internal.server;

import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ServerConnection;
import io.undertow.server.protocol.http2.Http2ServerConnection;
import io.undertow.util.AttachmentKey;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;

/**
 * The listener's root handler, in front of {@link Intake}: it counts the exchanges in flight, marks those
 * over {@code maxConcurrentExchanges}, and knows every client connection that has sent a request, so
 * that {@code close()} can drain them (in place of Undertow's {@code GracefulShutdownHandler}, which
 * answered 503 to every request that came after {@code close()} began):
 *
 * <ul>
 *   <li>An HTTP/1.1 connection with no exchange in flight is closed at once; one with an exchange in
 *       flight gets {@code Connection: close} on its response (or, when the response head is out
 *       already, is closed after it).
 *   <li>A request that arrives while the proxy drains is served, with {@code Connection: close}.
 *   <li>An HTTP/2 connection gets {@code GOAWAY} (with the last stream it processed) and is closed as soon
 *       as it has no stream in flight: at once when idle, else after its last stream's response. (Undertow
 *       closes a connection right after the GOAWAY it sends, so the RFC 9113 §6.8 early GOAWAY is not
 *       available; streams that come meanwhile are served.)
 *   <li>A connection that became a tunnel ({@code CONNECT}, {@code 101}) is left to the tunnel, which
 *       runs until it ends or the grace period is over.
 * </ul>
 */
final class ClientGate implements HttpHandler {
  private static final Logger log = LoggerFactory.getLogger(ClientGate.class);
  private static final AttachmentKey<Conn> CONN = AttachmentKey.create(Conn.class);
  /** On an exchange beyond {@code maxConcurrentExchanges}: {@link Intake} answers it 503. */
  static final AttachmentKey<Boolean> OVER_LIMIT = AttachmentKey.create(Boolean.class);
  /** HTTP/2's {@code NO_ERROR} (RFC 9113 §7). */
  private static final int NO_ERROR = 0;

  private final HttpHandler next;
  private final int maxExchanges;
  private final AtomicInteger active = new AtomicInteger();
  private final Set<Conn> connections = ConcurrentHashMap.newKeySet();
  private final Object monitor = new Object();
  private final ExchangeCompletionListener completed = this::completed;
  private volatile boolean draining;
  /** Told of each connection's first request (the connection limiter), or null. */
  private volatile Consumer<ServerConnection> firstRequest;

  /**
   * @param next the proxy's handler
   * @param maxExchanges the most exchanges in flight, 0 for no limit
   */
  ClientGate(HttpHandler next, int maxExchanges) {
    this.next = next;
    this.maxExchanges = maxExchanges;
  }

  @Override
  public void handleRequest(HttpServerExchange hse) throws Exception {
    ServerConnection sc = hse.getConnection();
    Conn c = sc.getAttachment(CONN); // an HTTP/2 connection's streams share their connection's attachments
    if (c == null) {
      c = new Conn(sc);
      sc.putAttachment(CONN, c);
      connections.add(c);
      Conn added = c;
      sc.addCloseListener(closed -> connections.remove(added));
      Consumer<ServerConnection> first = firstRequest;
      if (first != null) {
        first.accept(sc);
      }
    }
    c.exchanges.incrementAndGet();
    if (!c.h2) {
      c.current = hse;
    }
    int n = active.incrementAndGet();
    hse.addExchangeCompleteListener(completed);
    if (maxExchanges > 0 && n > maxExchanges) {
      hse.putAttachment(OVER_LIMIT, Boolean.TRUE);
    }
    if (draining && !c.h2 && !opensTunnel(hse)) {
      hse.setPersistent(false); // served, and the last on its connection
    }
    next.handleRequest(hse);
  }

  private void completed(HttpServerExchange hse, ExchangeCompletionListener.NextListener nextListener) {
    try {
      Conn c = hse.getConnection().getAttachment(CONN);
      boolean tunnel = hse.getStatusCode() == 101
          || (Methods.CONNECT.equals(hse.getRequestMethod()) && hse.getStatusCode() / 100 == 2);
      if (c != null) {
        if (tunnel) {
          c.tunnel = true;
        }
        if (c.current == hse) {
          c.current = null;
        }
        if (c.exchanges.decrementAndGet() == 0 && c.h2 && draining) {
          c.connection.getIoThread().execute(c::goAway); // its last stream is done
        }
      }
      if (draining && !tunnel) {
        hse.setPersistent(false); // a head sent before the drain began said keep-alive: close after it
      }
      if (active.decrementAndGet() == 0 && draining) {
        synchronized (monitor) {
          monitor.notifyAll();
        }
      }
    } finally {
      nextListener.proceed();
    }
  }

  /** Whether the request asks for a tunnel: its connection must stay open after the response head. */
  private static boolean opensTunnel(HttpServerExchange hse) {
    return Methods.CONNECT.equals(hse.getRequestMethod()) || hse.getRequestHeaders().contains(Headers.UPGRADE);
  }

  /** Tells {@code listener} of each connection's first request from now on. */
  void onFirstRequest(Consumer<ServerConnection> listener) {
    this.firstRequest = listener;
  }

  /** Exchanges in flight. */
  int active() {
    return active.get();
  }

  /** Client connections that have sent a request and are open. */
  int connections() {
    return connections.size();
  }

  /**
   * Begins draining (the listener is closed already): idle HTTP/1.1 connections close now, busy ones
   * after their exchange, HTTP/2 connections get GOAWAY; requests from now on are served as the last on
   * their connection. Each connection is handled on its own I/O thread.
   */
  void drain() {
    draining = true;
    for (Conn c : connections) {
      try {
        c.connection.getIoThread().execute(c::drain);
      } catch (RuntimeException e) {
        IoUtils.safeClose(c.connection); // its I/O thread is gone
      }
    }
  }

  /**
   * Waits until no exchange is in flight and {@code othersDone} holds (tunnels ended), or until {@code
   * deadlineNanos} on {@link System#nanoTime()}.
   *
   * @return whether everything was done in time
   */
  boolean awaitDrained(long deadlineNanos, BooleanSupplier othersDone) throws InterruptedException {
    synchronized (monitor) {
      for (;;) {
        if (active.get() == 0 && othersDone.getAsBoolean()) {
          return true;
        }
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        // exchanges notify; tunnels and intercepted connections are looked at again every 20 ms
        monitor.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 20)));
      }
    }
  }

  /** A client connection as the gate knows it. */
  private static final class Conn {
    final ServerConnection connection;
    final boolean h2;
    /** Exchanges in flight on it. */
    final AtomicInteger exchanges = new AtomicInteger();
    /** HTTP/1.1: the exchange in flight, or null; read and written on the connection's I/O thread. */
    volatile HttpServerExchange current;
    /** It carries a tunnel now: the tunnel decides when it closes. */
    volatile boolean tunnel;
    private boolean wentAway;

    Conn(ServerConnection connection) {
      this.connection = connection;
      this.h2 = connection instanceof Http2ServerConnection;
    }

    /** On the connection's I/O thread. */
    void drain() {
      if (h2) {
        if (exchanges.get() == 0) {
          goAway(); // else after its last stream
        }
      } else if (tunnel) {
        return; // the tunnel runs until it ends or the grace period is over
      } else if (exchanges.get() == 0) {
        IoUtils.safeClose(connection); // an idle keep-alive connection
      } else {
        HttpServerExchange x = current;
        if (x != null) {
          x.setPersistent(false); // Connection: close on its response, if the head is not out yet
        }
      }
    }

    /** Sends GOAWAY once, which closes the connection; on the connection's I/O thread. */
    void goAway() {
      if (wentAway) {
        return;
      }
      wentAway = true;
      try {
        Http2Access.sendGoAway(connection, NO_ERROR);
      } catch (ReflectiveOperationException | RuntimeException e) {
        log.debug("cannot send GOAWAY on {}; it closes when the proxy does", connection, e);
      }
    }
  }

  /** Undertow keeps an HTTP/2 connection's channel to itself: reached by reflection, once. */
  private static final class Http2Access {
    private static volatile Field channel;
    private static volatile Method sendGoAway;

    static void sendGoAway(ServerConnection c, int error) throws ReflectiveOperationException {
      Field f = channel;
      Method m = sendGoAway;
      if (f == null || m == null) {
        f = Http2ServerConnection.class.getDeclaredField("channel");
        f.setAccessible(true);
        m = f.getType().getMethod("sendGoAway", int.class);
        channel = f;
        sendGoAway = m;
      }
      m.invoke(f.get(c), error);
    }
  }
}
