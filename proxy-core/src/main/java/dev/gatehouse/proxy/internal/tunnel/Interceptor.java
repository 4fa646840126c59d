package dev.gatehouse.proxy.internal.tunnel;

import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.exchange.ConnectionAttribute;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.internal.tls.handover.ClientHello;
import dev.gatehouse.proxy.internal.tls.handover.ClientHelloReader;
import dev.gatehouse.proxy.internal.tls.handover.TlsHandover;
import dev.gatehouse.proxy.spi.ClientHelloInfo;
import dev.gatehouse.proxy.spi.TunnelInterception;
import dev.gatehouse.proxy.spi.TunnelPlan;
import io.undertow.conduits.BytesReceivedStreamSourceConduit;
import io.undertow.conduits.BytesSentStreamSinkConduit;
import io.undertow.server.HttpServerExchange;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;

/**
 * {@code CONNECT} tunnels a module intercepts ({@link dev.gatehouse.proxy.spi.Tunnels#intercept}). The
 * client gets its {@code 200} at once; then its first bytes are read ({@link ClientHelloReader}) and
 * the module's {@link TunnelInterception} decides: the proxy answers the client's TLS itself and the
 * decrypted connection is served by the engine like any other ({@link TlsHandover}), each request
 * carrying the plan's connection attribute; or the bytes pass through to a destination as an opaque
 * tunnel's would; or the tunnel is closed. The {@code CONNECT}'s access-log line is written when the
 * client connection ends, with the bytes it carried (TLS bytes, as for an opaque tunnel).
 */
public final class Interceptor {
  private static final Logger log = LoggerFactory.getLogger(Interceptor.class);
  private static final long SHUTDOWN_WAIT_MS = 5000;

  private final Engine engine;
  private final ConnectTunnels tunnels;
  private final Set<StreamConnection> open = ConcurrentHashMap.newKeySet();

  public Interceptor(Engine engine, ConnectTunnels tunnels) {
    this.engine = engine;
    this.tunnels = tunnels;
  }

  /** One tunnel from the {@code 200} on: the client connection, what it moved, and its end. */
  private final class Connect {
    final ExchangeImpl ex;
    final TunnelInterception interception;
    final Duration idleTimeout;
    StreamConnection client;
    /** A pass-through tunnel took over: it records the bytes and completes the exchange itself. */
    boolean raw;
    boolean completed;
    long bytesFromClient;
    long bytesToClient;

    Connect(ExchangeImpl ex, TunnelInterception interception, Duration idleTimeout) {
      this.ex = ex;
      this.interception = interception;
      this.idleTimeout = idleTimeout;
    }

    /** Writes the tunnel's access-log line, once, when it is over. */
    void complete() {
      if (completed) {
        return;
      }
      completed = true;
      if (!raw) {
        ex.recordTunnelBytes(bytesFromClient, bytesToClient);
      }
      ex.engine().completeDeferred(ex);
      if (client != null) {
        synchronized (open) { // after the line is queued: a shutdown waiting for this can close the log
          open.remove(client);
          open.notifyAll();
        }
      }
    }
  }

  /** Answers the {@code CONNECT} with 200 and takes the client side over once the answer is out. */
  public CompletionStage<ProxyResponse> open(ExchangeImpl ex, TunnelInterception interception, Duration idleTimeout) {
    HttpServerExchange hse = ex.hse();
    Connect c = new Connect(ex, interception, idleTimeout);
    hse.getConnection().addCloseListener(closed -> {
      if (!c.raw) {
        c.complete();
      }
    });
    hse.acceptConnectRequest((connection, exchange) -> {
      if (exchange.getStatusCode() / 100 != 2) {
        IoUtils.safeClose(connection); // a filter turned the 200 into something else: no tunnel
        c.complete();
        return;
      }
      c.client = connection;
      open.add(connection);
      long timeout = Math.max(1, engine.config().requestHeaderTimeout().toMillis());
      ClientHelloReader.read(connection, timeout, new ClientHelloReader.Callback() {
        @Override
        public void onHello(ClientHello hello, ByteBuffer bytes) {
          ClientHelloInfo.Kind kind = hello.kind() == ClientHello.Kind.TLS ? ClientHelloInfo.Kind.TLS
              : hello.kind() == ClientHello.Kind.NOT_TLS ? ClientHelloInfo.Kind.NOT_TLS : ClientHelloInfo.Kind.MALFORMED;
          carryOut(c, interception.onFirstBytes(new ClientHelloInfo(kind, hello.serverName(), hello.problem())), bytes);
        }

        @Override
        public void onSilence() {
          carryOut(c, interception.onFirstBytes(new ClientHelloInfo(ClientHelloInfo.Kind.SILENT, null, null)),
              ByteBuffer.allocate(0));
        }

        @Override
        public void onGone(String reason) {
          log.debug("{}: {}", ex, reason);
        }
      });
    });
    hse.setPersistent(true);
    ex.deferCompletion();
    return CompletableFuture.completedFuture(ProxyResponse.of(200));
  }

  private void carryOut(Connect c, TunnelPlan plan, ByteBuffer bytes) {
    switch (plan.kind()) {
      case SERVE:
        serveWhenReady(c, plan, bytes);
        return;
      case PASS_THROUGH:
        passThrough(c, plan, bytes);
        return;
      default:
        log.debug("{}: closing the tunnel", c.ex);
        c.bytesFromClient = 0;
        IoUtils.safeClose(c.client);
    }
  }

  /**
   * Connects to the plan's destination and pipes bytes both ways, starting with what the client already
   * sent; as an opaque tunnel would have from the start.
   */
  private void passThrough(Connect c, TunnelPlan plan, ByteBuffer bytes) {
    StreamConnection client = c.client;
    String target = c.ex.request().authority();
    ConnectTunnels.connect(client.getIoThread(), plan.destination(), engine.config().connectTimeout(),
        (dest, failure) -> {
          if (failure != null || !client.isOpen()) {
            String why = failure != null ? failure.getMessage() : "the client left";
            log.debug("{}: cannot connect to {}: {}", c.ex, target, why);
            c.interception.passThroughFailed(why);
            IoUtils.safeClose(dest);
            IoUtils.safeClose(client);
            return;
          }
          c.raw = true;
          tunnels.pipe(c.ex, client, dest, bytes.hasRemaining() ? bytes : null, null, c.idleTimeout, c::complete);
        }, target);
  }

  /** Waits for the plan's TLS context (a certificate being minted), then serves the client on the I/O thread. */
  private void serveWhenReady(Connect c, TunnelPlan plan, ByteBuffer hello) {
    CompletableFuture<SSLContext> context = plan.context().toCompletableFuture();
    if (context.isDone() && !context.isCompletedExceptionally()) {
      serve(c, plan, hello, context.join());
      return;
    }
    context.whenComplete((ctx, error) -> c.client.getIoThread().execute(() -> {
      if (error != null) {
        log.debug("{}: no TLS context for the intercepted connection: {}", c.ex, error.toString());
        IoUtils.safeClose(c.client);
      } else if (c.client.isOpen()) {
        serve(c, plan, hello, ctx);
      }
    }));
  }

  private void serve(Connect c, TunnelPlan plan, ByteBuffer hello, SSLContext context) {
    StreamConnection client = c.client;
    // count what the tunnel carries (TLS bytes, as for an opaque tunnel) for the CONNECT's log line
    c.bytesFromClient = hello.remaining();
    client.getSourceChannel().setConduit(new BytesReceivedStreamSourceConduit(client.getSourceChannel().getConduit(),
        n -> c.bytesFromClient += n));
    client.getSinkChannel().setConduit(new BytesSentStreamSinkConduit(client.getSinkChannel().getConduit(),
        n -> c.bytesToClient += n));
    ConnectionAttribute attribute = new ConnectionAttribute(plan.attributeKey(), plan.attribute());
    try {
      TlsHandover.serve(engine, client, hello, context, true, attribute::tag, plan.handshakeFailed()::accept);
    } catch (RuntimeException failure) {
      log.warn("{}: cannot serve the intercepted tunnel", c.ex, failure);
      IoUtils.safeClose(client);
    }
  }

  /** Intercepted connections open now. */
  public int openConnections() {
    return open.size();
  }

  /**
   * Closes every intercepted connection, each on its I/O thread (at shutdown, after in-flight requests
   * had their grace period), and waits a little for their access-log lines.
   */
  public void closeAll() {
    for (StreamConnection c : new ArrayList<>(open)) {
      try {
        c.getIoThread().execute(() -> IoUtils.safeClose(c));
      } catch (RuntimeException e) {
        IoUtils.safeClose(c); // the I/O thread is gone already
      }
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SHUTDOWN_WAIT_MS);
    synchronized (open) {
      while (!open.isEmpty()) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          log.warn("{} intercepted connections still open after {} ms", open.size(), SHUTDOWN_WAIT_MS);
          return;
        }
        try {
          open.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
