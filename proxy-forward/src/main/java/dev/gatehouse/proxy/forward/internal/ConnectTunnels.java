package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.forward.EgressDecision;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.internal.pool.CidrSet;
import dev.gatehouse.proxy.internal.server.CoreConfig;
import dev.gatehouse.proxy.internal.tunnel.Tunnel;
import io.undertow.server.HttpServerExchange;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
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
 * Opens {@code CONNECT} tunnels: connects to the checked address (or through the parent proxy with its
 * own {@code CONNECT}), answers 200, and pipes bytes with a {@link Tunnel} once the answer is out. The
 * exchange's access-log line is written when the tunnel ends, with the bytes it carried.
 */
final class ConnectTunnels {
  private static final Logger log = LoggerFactory.getLogger(ConnectTunnels.class);
  private static final OptionMap OPTIONS = OptionMap.builder()
      .set(Options.TCP_NODELAY, true)
      .set(Options.KEEP_ALIVE, true)
      .getMap();
  private static final int MAX_PARENT_HEAD = 16 * 1024;
  private static final long SHUTDOWN_WAIT_MS = 5000;

  private final ForwardSettings settings;
  private final Set<Tunnel> open = ConcurrentHashMap.newKeySet();
  private final Object lock = new Object();

  ConnectTunnels(ForwardSettings settings) {
    this.settings = settings;
  }

  CompletionStage<ProxyResponse> open(ExchangeImpl ex, Target t, EgressDecision d, ParentProxy parent) {
    CompletableFuture<ProxyResponse> result = new CompletableFuture<>();
    XnioIoThread thread = ex.ioThread();
    CoreConfig config = ex.engine().config();
    if (parent == null) {
      InetSocketAddress address = new InetSocketAddress(d.address().orElseThrow(), t.port());
      connect(ex, thread, address, config, t.authority(), result, dest -> established(ex, dest, null, result));
      return result;
    }
    InetSocketAddress parentAddress = literal(parent);
    if (parentAddress != null) {
      connect(ex, thread, parentAddress, config, "parent proxy " + parent, result,
          dest -> new ParentHandshake(ex, dest, t, parent, result).start());
      return result;
    }
    ex.blockingExecutor().execute(() -> {
      InetSocketAddress resolved;
      try {
        resolved = new InetSocketAddress(InetAddress.getByName(parent.endpoint().host()), parent.endpoint().port());
      } catch (UnknownHostException e) {
        result.completeExceptionally(new UpstreamConnectException("cannot resolve parent proxy " + parent, e));
        return;
      }
      thread.execute(() -> connect(ex, thread, resolved, config, "parent proxy " + parent, result,
          dest -> new ParentHandshake(ex, dest, t, parent, result).start()));
    });
    return result;
  }

  private static InetSocketAddress literal(ParentProxy parent) {
    byte[] a = CidrSet.parseLiteral(parent.endpoint().host());
    if (a == null) {
      return null;
    }
    try {
      return new InetSocketAddress(InetAddress.getByAddress(a), parent.endpoint().port());
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private interface Connected {
    void accept(StreamConnection c);
  }

  /** Connects within {@code connectTimeout}: 504 when it takes longer, 502 when refused. */
  private static void connect(ExchangeImpl ex, XnioIoThread thread, InetSocketAddress address, CoreConfig config,
      String what, CompletableFuture<ProxyResponse> result, Connected then) {
    IoFuture<StreamConnection> future;
    try {
      future = thread.openStreamConnection(address, null, OPTIONS);
    } catch (RuntimeException e) {
      result.completeExceptionally(new UpstreamConnectException("cannot connect to " + what, e));
      return;
    }
    XnioExecutor.Key timer = thread.executeAfter(future::cancel, config.connectTimeout().toMillis(),
        TimeUnit.MILLISECONDS);
    future.addNotifier((f, unused) -> {
      Runnable r = () -> {
        timer.remove();
        switch (f.getStatus()) {
          case DONE: {
            StreamConnection c;
            try {
              c = f.get();
            } catch (IOException e) {
              result.completeExceptionally(new UpstreamConnectException("cannot connect to " + what, e));
              return;
            }
            if (ex.isFinished() || result.isDone()) {
              IoUtils.safeClose(c); // the client went away meanwhile
              return;
            }
            then.accept(c);
            return;
          }
          case FAILED:
            result.completeExceptionally(new UpstreamConnectException("cannot connect to " + what + ": "
                + f.getException().getMessage(), f.getException()));
            return;
          default:
            result.completeExceptionally(new UpstreamTimeoutException("connecting to " + what
                + " took longer than connectTimeout " + config.connectTimeout()));
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
  private void established(ExchangeImpl ex, StreamConnection dest, ByteBuffer pendingToClient,
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
      pipe(ex, client, dest, null, pendingToClient, completeOnce);
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
      ByteBuffer pendingToClient, Runnable completeOnce) {
    long idle = settings.tunnelIdleTimeout().toMillis();
    try {
      Tunnel tunnel = Tunnel.start(client, dest, ex.hse().getConnection().getByteBufferPool(), pendingToDest,
          pendingToClient, idle, (tn, up, down, reason) -> {
            log.debug("tunnel {} ended ({}): {} bytes up, {} bytes down", ex.request().authority(), reason, up, down);
            ex.recordTunnelBytes(up, down);
            Telemetry.tunnelClosed(ex);
            completeOnce.run();
            synchronized (lock) {
              open.remove(tn);
              lock.notifyAll();
            }
          });
      Telemetry.tunnelOpened(ex);
      if (!tunnel.isEnded()) {
        open.add(tunnel);
      }
    } catch (RuntimeException e) {
      log.warn("cannot start tunnel to {}", ex.request().authority(), e);
      IoUtils.safeClose(dest);
      IoUtils.safeClose(client);
      completeOnce.run();
    }
  }

  /** Closes every open tunnel (logging each) and waits a little for them to end. */
  void closeAll() {
    List<Tunnel> snapshot = new ArrayList<>(open);
    if (snapshot.isEmpty()) {
      return;
    }
    for (Tunnel t : snapshot) {
      t.close("shutdown");
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SHUTDOWN_WAIT_MS);
    synchronized (lock) {
      while (!open.isEmpty()) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          log.warn("{} tunnels still open after {} ms", open.size(), SHUTDOWN_WAIT_MS);
          return;
        }
        try {
          lock.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** {@code CONNECT} through the parent proxy: send ours, read its answer, then tunnel or relay the refusal. */
  private final class ParentHandshake {
    private final ExchangeImpl ex;
    private final StreamConnection dest;
    private final ParentProxy parent;
    private final CompletableFuture<ProxyResponse> result;
    private final ByteBuffer request;
    private ByteBuffer response = ByteBuffer.allocate(1024);
    private XnioExecutor.Key timer;

    ParentHandshake(ExchangeImpl ex, StreamConnection dest, Target t, ParentProxy parent,
        CompletableFuture<ProxyResponse> result) {
      this.ex = ex;
      this.dest = dest;
      this.parent = parent;
      this.result = result;
      StringBuilder sb = new StringBuilder(128);
      sb.append("CONNECT ").append(t.authority()).append(" HTTP/1.1\r\nHost: ").append(t.authority()).append("\r\n");
      if (parent.authorization() != null) {
        sb.append("Proxy-Authorization: ").append(parent.authorization()).append("\r\n");
      }
      sb.append("\r\n");
      this.request = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    void start() {
      long readTimeout = ex.engine().config().readTimeout().toMillis();
      if (readTimeout > 0) {
        timer = dest.getIoThread().executeAfter(() -> fail(new UpstreamTimeoutException("parent proxy " + parent
            + " did not answer CONNECT within readTimeout " + ex.engine().config().readTimeout())),
            readTimeout, TimeUnit.MILLISECONDS);
      }
      dest.getSinkChannel().getWriteSetter().set(ch -> write());
      dest.getSourceChannel().getReadSetter().set(ch -> read());
      write();
    }

    private void write() {
      try {
        while (request.hasRemaining()) {
          if (dest.getSinkChannel().write(request) == 0) {
            dest.getSinkChannel().resumeWrites();
            return;
          }
        }
        if (!dest.getSinkChannel().flush()) {
          dest.getSinkChannel().resumeWrites();
          return;
        }
        dest.getSinkChannel().suspendWrites();
        dest.getSinkChannel().getWriteSetter().set(null);
        read();
      } catch (IOException e) {
        fail(new UpstreamConnectException("parent proxy " + parent + " failed during CONNECT", e));
      }
    }

    private void read() {
      if (result.isDone()) {
        return;
      }
      try {
        for (;;) {
          if (!response.hasRemaining()) {
            if (response.capacity() >= MAX_PARENT_HEAD) {
              fail(new UpstreamResponseException("parent proxy " + parent + " sent a response head over "
                  + MAX_PARENT_HEAD + " bytes"));
              return;
            }
            ByteBuffer bigger = ByteBuffer.allocate(response.capacity() * 2);
            response.flip();
            bigger.put(response);
            response = bigger;
          }
          int n = dest.getSourceChannel().read(response);
          if (n == 0) {
            dest.getSourceChannel().resumeReads();
            return;
          }
          if (n < 0) {
            fail(new UpstreamResponseException("parent proxy " + parent + " closed the connection during CONNECT"));
            return;
          }
          int end = headEnd(response);
          if (end >= 0) {
            parsed(end);
            return;
          }
        }
      } catch (IOException e) {
        fail(new UpstreamResponseException("parent proxy " + parent + " failed during CONNECT", e));
      }
    }

    private void parsed(int end) {
      dest.getSourceChannel().suspendReads();
      dest.getSourceChannel().getReadSetter().set(null);
      cancelTimer();
      String head = new String(response.array(), 0, end, StandardCharsets.ISO_8859_1);
      int status = -1;
      if (head.startsWith("HTTP/1.") && head.length() >= 12 && head.charAt(8) == ' ') {
        try {
          status = Integer.parseInt(head.substring(9, 12));
        } catch (NumberFormatException e) {
          status = -1;
        }
      }
      if (status / 100 == 2) {
        ByteBuffer rest = ByteBuffer.wrap(response.array(), end, response.position() - end).slice();
        ByteBuffer copy = rest.hasRemaining() ? ByteBuffer.allocate(rest.remaining()).put(rest).flip() : null;
        established(ex, dest, copy, result);
        return;
      }
      IoUtils.safeClose(dest);
      if (status < 0) {
        result.completeExceptionally(new UpstreamResponseException("parent proxy " + parent
            + " sent an invalid response to CONNECT"));
      } else if (status == 407) {
        log.warn("parent proxy {} refused this proxy's credentials (407)", parent);
        result.complete(ProxyResponse.of(502, "Bad Gateway: the parent proxy refused this proxy's credentials\n"));
      } else if (status >= 400 && status <= 599) {
        result.complete(ProxyResponse.of(status, "The parent proxy refused the tunnel: " + status + "\n"));
      } else {
        result.complete(ProxyResponse.of(502, "Bad Gateway: the parent proxy answered CONNECT with " + status + "\n"));
      }
    }

    private void fail(RuntimeException e) {
      cancelTimer();
      IoUtils.safeClose(dest);
      result.completeExceptionally(e);
    }

    private void cancelTimer() {
      if (timer != null) {
        timer.remove();
        timer = null;
      }
    }
  }

  /** Index just past the blank line ending a response head, or -1. */
  static int headEnd(ByteBuffer b) {
    byte[] a = b.array();
    int n = b.position();
    for (int i = 3; i < n; i++) {
      if (a[i] == '\n' && a[i - 1] == '\r' && a[i - 2] == '\n' && a[i - 3] == '\r') {
        return i + 1;
      }
    }
    return -1;
  }
}
