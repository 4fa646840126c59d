package dev.gatehouse.proxy.internal.tunnel;

import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.spi.CidrSet;
import dev.gatehouse.proxy.spi.Endpoint;
import io.undertow.server.HttpServerExchange;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoFuture;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

/**
 * Opens {@code CONNECT} tunnels: connects to the address the module checked (or through a parent proxy
 * with its own {@code CONNECT}, see {@link ParentConnect}), answers 200, and pipes bytes with a {@link
 * Tunnel} once the answer is out. The exchange's access-log line is written when the tunnel ends, with
 * the bytes it carried. Open tunnels are kept in the proxy's {@link OpenTunnels}, which closes (and logs)
 * those still open at the end of the shutdown grace period.
 */
public final class ConnectTunnels {
  private static final Logger log = LoggerFactory.getLogger(ConnectTunnels.class);
  private static final OptionMap OPTIONS = OptionMap.builder()
      .set(Options.TCP_NODELAY, true)
      .set(Options.KEEP_ALIVE, true)
      .getMap();

  private final OpenTunnels open;

  /** @param open where the tunnels are kept while they run */
  public ConnectTunnels(OpenTunnels open) {
    this.open = open;
  }

  /** Tunnels to {@code destination}; see {@link dev.gatehouse.proxy.spi.Tunnels#open}. */
  public CompletionStage<ProxyResponse> open(ExchangeImpl ex, InetSocketAddress destination, Duration idleTimeout) {
    CompletableFuture<ProxyResponse> result = new CompletableFuture<>();
    connect(ex, destination, ex.request().authority(), result,
        dest -> established(ex, dest, null, idleTimeout, result));
    return result;
  }

  /** Tunnels through {@code parent}; see {@link dev.gatehouse.proxy.spi.Tunnels#openThroughParent}. */
  public CompletionStage<ProxyResponse> openThroughParent(ExchangeImpl ex, Endpoint parent, String target,
      String proxyAuthorization, Duration idleTimeout) {
    CompletableFuture<ProxyResponse> result = new CompletableFuture<>();
    Consumer<StreamConnection> handshake = dest -> new ParentConnect(ex, dest, parent, target, proxyAuthorization,
        result, rest -> established(ex, dest, rest, idleTimeout, result)).start();
    InetSocketAddress literal = literal(parent);
    if (literal != null) {
      connect(ex, literal, "parent proxy " + parent, result, handshake);
      return result;
    }
    XnioIoThread thread = ex.ioThread();
    ex.blockingExecutor().execute(() -> {
      InetSocketAddress resolved;
      try {
        resolved = new InetSocketAddress(InetAddress.getByName(parent.host()), parent.port());
      } catch (UnknownHostException e) {
        result.completeExceptionally(new UpstreamConnectException("cannot resolve parent proxy " + parent, e));
        return;
      }
      thread.execute(() -> connect(ex, resolved, "parent proxy " + parent, result, handshake));
    });
    return result;
  }

  private static InetSocketAddress literal(Endpoint parent) {
    byte[] a = CidrSet.parseLiteral(parent.host());
    if (a == null) {
      return null;
    }
    try {
      return new InetSocketAddress(InetAddress.getByAddress(a), parent.port());
    } catch (UnknownHostException e) {
      return null;
    }
  }

  /** Connects within {@code connectTimeout}: 504 when it takes longer, 502 when refused. */
  private static void connect(ExchangeImpl ex, InetSocketAddress address, String what,
      CompletableFuture<ProxyResponse> result, Consumer<StreamConnection> then) {
    connect(ex.ioThread(), address, ex.engine().config().connectTimeout(), (c, failure) -> {
      if (failure != null) {
        result.completeExceptionally(failure);
      } else if (ex.isFinished() || result.isDone()) {
        IoUtils.safeClose(c); // the client went away meanwhile
      } else {
        then.accept(c);
      }
    }, what);
  }

  /** Told the outcome of {@link #connect(XnioIoThread, InetSocketAddress, Duration, Connected, String)}. */
  interface Connected {
    /** Exactly one of {@code connection} and {@code failure} is null. */
    void done(StreamConnection connection, RuntimeException failure);
  }

  /**
   * Connects to {@code address} on {@code thread}, within {@code timeout}; {@code done} hears of it on
   * that thread: the connection, or a failure naming {@code what} (an {@link UpstreamTimeoutException}
   * when it took too long, else an {@link UpstreamConnectException}).
   */
  static void connect(XnioIoThread thread, InetSocketAddress address, Duration timeout, Connected done, String what) {
    IoFuture<StreamConnection> future;
    try {
      future = thread.openStreamConnection(address, null, OPTIONS);
    } catch (RuntimeException e) {
      done.done(null, new UpstreamConnectException("cannot connect to " + what, e));
      return;
    }
    XnioExecutor.Key timer = thread.executeAfter(future::cancel, timeout.toMillis(), TimeUnit.MILLISECONDS);
    future.addNotifier((f, unused) -> {
      Runnable r = () -> {
        timer.remove();
        switch (f.getStatus()) {
          case DONE: {
            StreamConnection c;
            try {
              c = f.get();
            } catch (IOException e) {
              done.done(null, new UpstreamConnectException("cannot connect to " + what, e));
              return;
            }
            done.done(c, null);
            return;
          }
          case FAILED:
            done.done(null, new UpstreamConnectException("cannot connect to " + what + ": "
                + f.getException().getMessage(), f.getException()));
            return;
          default:
            done.done(null, new UpstreamTimeoutException("connecting to " + what
                + " took longer than connectTimeout " + timeout));
        }
      };
      if (Thread.currentThread() == thread) {
        r.run();
      } else {
        thread.execute(r);
      }
    }, null);
  }

  /**
   * The destination is connected: ask Undertow to hand over the client connection once the 200 is
   * out, and answer 200.
   */
  private void established(ExchangeImpl ex, StreamConnection dest, ByteBuffer pendingToClient, Duration idleTimeout,
      CompletableFuture<ProxyResponse> result) {
    HttpServerExchange hse = ex.hse();
    if (ex.isFinished() || result.isDone()) {
      IoUtils.safeClose(dest);
      return;
    }
    boolean[] started = {false};
    boolean[] completed = {false};
    Runnable completeOnce = () -> {
      if (!completed[0]) {
        completed[0] = true;
        ex.engine().completeDeferred(ex);
      }
    };
    hse.getConnection().addCloseListener(c -> {
      if (!started[0]) {
        IoUtils.safeClose(dest);
        completeOnce.run();
      }
    });
    hse.acceptConnectRequest((client, exchange) -> {
      if (exchange.getStatusCode() / 100 != 2) {
        // A filter turned the 200 into something else: no tunnel.
        IoUtils.safeClose(dest);
        IoUtils.safeClose(client);
        completeOnce.run();
        return;
      }
      started[0] = true;
      pipe(ex, client, dest, null, pendingToClient, idleTimeout, completeOnce);
    });
    hse.setPersistent(true); // an HTTP/1.0 CONNECT too: the connection becomes the tunnel
    ex.deferCompletion();
    result.complete(ProxyResponse.of(200));
  }

  /**
   * Pipes bytes between the client and the destination until both are done; {@code completeOnce} runs
   * when the tunnel ends, after its byte counts are recorded on the exchange. On the connections' I/O
   * thread.
   */
  void pipe(ExchangeImpl ex, StreamConnection client, StreamConnection dest, ByteBuffer pendingToDest,
      ByteBuffer pendingToClient, Duration idleTimeout, Runnable completeOnce) {
    try {
      Tunnel tunnel = Tunnel.start(client, dest, ex.hse().getConnection().getByteBufferPool(),
          ex.engine().bufferBudget(), pendingToDest, pendingToClient, idleTimeout.toMillis(), (tn, up, down, reason) -> {
            log.debug("tunnel {} ended ({}): {} bytes up, {} bytes down", ex.request().authority(), reason, up, down);
            ex.recordTunnelBytes(up, down);
            Telemetry.tunnelClosed(ex);
            completeOnce.run();
            open.ended(tn);
          });
      Telemetry.tunnelOpened(ex);
      if (!tunnel.isEnded()) {
        open.opened(tunnel, "CONNECT tunnel", ex);
      }
    } catch (RuntimeException e) {
      log.warn("cannot start tunnel to {}", ex.request().authority(), e);
      IoUtils.safeClose(dest);
      IoUtils.safeClose(client);
      completeOnce.run();
    }
  }
}
