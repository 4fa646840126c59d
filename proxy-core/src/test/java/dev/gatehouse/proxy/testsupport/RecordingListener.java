package dev.gatehouse.proxy.testsupport;

import dev.gatehouse.proxy.events.ConnectionInfo;
import dev.gatehouse.proxy.events.ExchangeInfo;
import dev.gatehouse.proxy.events.ProxyListener;
import dev.gatehouse.proxy.events.ServerStateChange;
import dev.gatehouse.proxy.events.TlsHandshake;
import dev.gatehouse.proxy.events.UpstreamAttempt;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Records every event as a line such as {@code exchangeEnded upstream 200}, keeping the objects too,
 * and lets a test wait for an event (events may come after the client has its response).
 */
public final class RecordingListener implements ProxyListener {
  private final List<String> events = new CopyOnWriteArrayList<>();
  public final List<ExchangeInfo> ended = new CopyOnWriteArrayList<>();
  public final List<UpstreamAttempt> attempts = new CopyOnWriteArrayList<>();
  public final List<TlsHandshake> handshakes = new CopyOnWriteArrayList<>();
  private final Object lock = new Object();

  private void add(String line) {
    synchronized (lock) {
      events.add(line);
      lock.notifyAll();
    }
  }

  /** Every event so far, in order. */
  public List<String> events() {
    return new ArrayList<>(events);
  }

  /** The events so far whose line starts with one of {@code prefixes}. */
  public List<String> events(String... prefixes) {
    List<String> out = new ArrayList<>();
    for (String e : events) {
      for (String p : prefixes) {
        if (e.startsWith(p)) {
          out.add(e);
          break;
        }
      }
    }
    return out;
  }

  /** Waits up to 10 s until an event line matches, and returns it. */
  public String await(Predicate<String> match) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    synchronized (lock) {
      for (;;) {
        for (String e : events) {
          if (match.test(e)) {
            return e;
          }
        }
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          throw new AssertionError("no matching event within 10 s; events: " + events);
        }
        lock.wait(left);
      }
    }
  }

  /** Waits until an event line starts with {@code prefix}. */
  public String await(String prefix) throws InterruptedException {
    return await(e -> e.startsWith(prefix));
  }

  /** Waits until {@code n} exchanges have ended. */
  public void awaitEnded(int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    synchronized (lock) {
      while (ended.size() < n) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          throw new AssertionError(ended.size() + " exchanges ended within 10 s (expected " + n + "); events: " + events);
        }
        lock.wait(left);
      }
    }
  }

  @Override
  public void exchangeStarted(ExchangeInfo exchange) {
    add("exchangeStarted " + exchange.request().method() + " " + exchange.request().pathAndQuery() + " status="
        + exchange.status());
  }

  @Override
  public void routeChosen(ExchangeInfo exchange) {
    add("routeChosen " + exchange.route().orElse("?"));
  }

  @Override
  public void upstreamAttemptStarted(UpstreamAttempt attempt) {
    add("attemptStarted #" + attempt.number() + " " + attempt.group().orElse("-") + " " + attempt.upstream());
  }

  @Override
  public void upstreamAttemptEnded(UpstreamAttempt attempt) {
    attempts.add(attempt);
    add("attemptEnded #" + attempt.number() + " " + attempt.outcome().tag() + " " + attempt.status());
  }

  @Override
  public void responseCommitted(ExchangeInfo exchange) {
    add("committed " + exchange.status() + (exchange.responseFromUpstream() ? " upstream" : " local")
        + exchange.error().map(e -> " error=" + e.getClass().getSimpleName()).orElse(""));
  }

  @Override
  public void exchangeEnded(ExchangeInfo exchange) {
    synchronized (lock) {
      ended.add(exchange);
      add("exchangeEnded " + exchange.outcome().tag() + " " + exchange.status() + " in=" + exchange.requestBodyBytes()
          + " out=" + exchange.responseBodyBytes() + " attempts=" + exchange.upstreamAttempts());
    }
  }

  @Override
  public void tunnelOpened(ExchangeInfo exchange) {
    add("tunnelOpened " + exchange.request().method() + " " + exchange.request().authority());
  }

  @Override
  public void tunnelClosed(ExchangeInfo exchange) {
    add("tunnelClosed in=" + exchange.requestBodyBytes() + " out=" + exchange.responseBodyBytes());
  }

  @Override
  public void connectionOpened(ConnectionInfo connection) {
    add("connectionOpened " + connection.protocol() + (connection.isSecure() ? " tls" : ""));
  }

  @Override
  public void connectionClosed(ConnectionInfo connection) {
    add("connectionClosed " + connection.protocol());
  }

  @Override
  public void limitReached(java.net.InetSocketAddress client, String limit) {
    add("limitReached " + limit + " " + client.getAddress().getHostAddress());
  }

  @Override
  public void tlsHandshake(TlsHandshake handshake) {
    handshakes.add(handshake);
    add("tls " + (handshake.succeeded() ? "ok " + handshake.protocol().orElse("?") : "failed"));
  }

  @Override
  public void decision(ExchangeInfo exchange, String kind, String outcome, String detail) {
    add("decision " + kind + " " + outcome + " " + detail);
  }

  @Override
  public void serverStateChanged(ServerStateChange change) {
    add("serverState " + change.group() + " " + change.server() + " " + change.from() + "->" + change.to());
  }

  @Override
  public String toString() {
    return "RecordingListener";
  }
}
