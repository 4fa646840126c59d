package dev.gatehouse.proxy.internal.pool;

import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.spi.CidrSet;
import dev.gatehouse.proxy.internal.tls.ClientTlsContext;
import dev.gatehouse.proxy.spi.ClientTls;
import dev.gatehouse.proxy.spi.Endpoint;
import io.undertow.protocols.ssl.UndertowXnioSsl;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.xnio.ChannelListener;
import org.xnio.IoFuture;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;
import org.xnio.ssl.SslConnection;

/**
 * Opens a connection to an endpoint on an I/O thread: resolves the host off the I/O thread when it is
 * not an address literal, connects, and for {@code https} completes the TLS handshake (certificate and
 * host name checked) before reporting success. The whole attempt is bounded by one timeout. Shared by
 * the connection pools and the health probe.
 */
public final class Connector {
  private static final OptionMap CONNECT_OPTIONS = OptionMap.builder()
      .set(Options.TCP_NODELAY, true)
      .set(Options.KEEP_ALIVE, true)
      .getMap();

  /** Receives the outcome on the requesting I/O thread. */
  public interface Callback {
    void connected(StreamConnection connection);

    void failed(RuntimeException failure);
  }

  private Connector() {}

  /**
   * Connects to {@code endpoint} (to {@code endpoint.address()} when it is resolved). {@code tls} is
   * used when the endpoint is https; {@code resolver} runs DNS look-ups.
   */
  public static void connect(XnioIoThread thread, Endpoint endpoint, ClientTls tls, long timeoutMillis,
      Executor resolver, Callback callback) {
    connect(thread, endpoint, tls, null, timeoutMillis, resolver, callback);
  }

  /**
   * As above, offering {@code alpn} (e.g. {@code h2, http/1.1}) in the TLS handshake; the protocol the
   * upstream chose is then {@link #applicationProtocol(StreamConnection)}.
   */
  public static void connect(XnioIoThread thread, Endpoint endpoint, ClientTls tls, String[] alpn, long timeoutMillis,
      Executor resolver, Callback callback) {
    Attempt a = new Attempt(thread, endpoint, tls, timeoutMillis, callback);
    a.alpn = alpn;
    a.timer = thread.executeAfter(a::timedOut, timeoutMillis, TimeUnit.MILLISECONDS);
    InetSocketAddress address = endpoint.address();
    if (address != null && !address.isUnresolved()) {
      a.open(address);
      return;
    }
    byte[] literal = CidrSet.parseLiteral(endpoint.host());
    if (literal != null) {
      try {
        a.open(new InetSocketAddress(InetAddress.getByAddress(literal), endpoint.port()));
      } catch (UnknownHostException e) {
        a.fail(new UpstreamConnectException("invalid upstream address " + endpoint, e));
      }
      return;
    }
    try {
      resolver.execute(() -> {
        InetSocketAddress resolved;
        try {
          resolved = new InetSocketAddress(InetAddress.getByName(endpoint.host()), endpoint.port());
        } catch (UnknownHostException e) {
          thread.execute(() -> a.fail(new UpstreamConnectException("cannot resolve upstream host " + endpoint.host(), e)));
          return;
        }
        thread.execute(() -> a.open(resolved));
      });
    } catch (RuntimeException e) {
      a.fail(new UpstreamConnectException("cannot resolve upstream host " + endpoint.host(), e));
    }
  }

  private static final class Attempt {
    final XnioIoThread thread;
    final Endpoint endpoint;
    final ClientTls tls;
    final long timeoutMillis;
    final Callback callback;
    XnioExecutor.Key timer;
    IoFuture<? extends StreamConnection> future;
    StreamConnection connection;
    String[] alpn;
    boolean done;

    Attempt(XnioIoThread thread, Endpoint endpoint, ClientTls tls, long timeoutMillis, Callback callback) {
      this.thread = thread;
      this.endpoint = endpoint;
      this.tls = tls;
      this.timeoutMillis = timeoutMillis;
      this.callback = callback;
    }

    void open(InetSocketAddress address) {
      if (done) {
        return;
      }
      try {
        future = thread.openStreamConnection(address, null, CONNECT_OPTIONS);
      } catch (RuntimeException e) {
        fail(new UpstreamConnectException("cannot connect to upstream " + endpoint, e));
        return;
      }
      future.addNotifier((f, unused) -> {
        Runnable r = () -> opened(f);
        if (Thread.currentThread() == thread) {
          r.run();
        } else {
          thread.execute(r);
        }
      }, null);
    }

    private void opened(IoFuture<? extends StreamConnection> f) {
      switch (f.getStatus()) {
        case DONE: {
          StreamConnection sc;
          try {
            sc = f.get();
          } catch (IOException e) {
            fail(new UpstreamConnectException("cannot connect to upstream " + endpoint + ": " + e.getMessage(), e));
            return;
          }
          if (done) {
            IoUtils.safeClose(sc);
            return;
          }
          connection = sc;
          if (endpoint.isTls()) {
            handshake(sc);
          } else {
            succeed(sc);
          }
          return;
        }
        case FAILED: {
          IOException e = f.getException();
          fail(new UpstreamConnectException("cannot connect to upstream " + endpoint + ": " + e.getMessage(), e));
          return;
        }
        default:
          // cancelled by the timer, which reported already
      }
    }

    private void handshake(StreamConnection sc) {
      ClientTlsContext t = ClientTlsContext.of(tls);
      SslConnection ssl;
      try {
        UndertowXnioSsl xs = new UndertowXnioSsl(sc.getWorker().getXnio(), OptionMap.EMPTY, t.sslContext());
        OptionMap peer = OptionMap.builder()
            .set(Options.SSL_PEER_HOST_NAME, endpoint.host())
            .set(Options.SSL_PEER_PORT, endpoint.port())
            .getMap();
        ssl = xs.wrapExistingConnection(sc, peer);
        connection = ssl;
        if (alpn != null) {
          javax.net.ssl.SSLEngine engine = UndertowXnioSsl.getSslEngine(ssl);
          javax.net.ssl.SSLParameters params = engine.getSSLParameters();
          params.setApplicationProtocols(alpn);
          engine.setSSLParameters(params);
        }
        ssl.startHandshake();
      } catch (IOException | RuntimeException e) {
        fail(new UpstreamConnectException("TLS handshake with upstream " + endpoint + " failed: " + e.getMessage(), e));
        return;
      }
      ssl.getHandshakeSetter().set((ChannelListener<SslConnection>) c -> {
        c.getSourceChannel().suspendReads();
        c.getSourceChannel().getReadSetter().set(null);
        succeed(c);
      });
      ByteBuffer probe = ByteBuffer.allocate(1);
      ssl.getSourceChannel().getReadSetter().set(ch -> {
        try {
          probe.clear();
          int n = ch.read(probe);
          if (n < 0) {
            fail(new UpstreamConnectException("TLS handshake with upstream " + endpoint
                + " failed: " + handshakeFailure(ssl), null));
          } else if (n > 0 && !done) {
            fail(new UpstreamConnectException("upstream " + endpoint + " sent data before any request", null));
          }
        } catch (IOException e) {
          fail(new UpstreamConnectException("TLS handshake with upstream " + endpoint + " failed: "
              + rootMessage(e), e));
        }
      });
      ssl.getSourceChannel().resumeReads();
    }

    /** Why the handshake ended, when the trust check said so; Undertow's conduit reports only a close. */
    private String handshakeFailure(SslConnection ssl) {
      String refusal = ClientTlsContext.of(tls).refusal(UndertowXnioSsl.getSslEngine(ssl));
      return refusal != null ? refusal : "connection closed";
    }

    private void succeed(StreamConnection c) {
      if (done) {
        IoUtils.safeClose(c);
        return;
      }
      done = true;
      timer.remove();
      callback.connected(c);
    }

    void fail(RuntimeException e) {
      if (done) {
        return;
      }
      done = true;
      if (timer != null) {
        timer.remove();
      }
      IoUtils.safeClose(connection);
      callback.failed(e);
    }

    void timedOut() {
      if (done) {
        return;
      }
      if (future != null) {
        future.cancel();
      }
      fail(new UpstreamTimeoutException("connecting to upstream " + endpoint + " took longer than connectTimeout "
          + java.time.Duration.ofMillis(timeoutMillis)));
    }
  }

  /** The protocol agreed by ALPN on a TLS connection this class opened, or null (none, or not TLS). */
  public static String applicationProtocol(StreamConnection c) {
    if (!(c instanceof SslConnection)) {
      return null;
    }
    String p = UndertowXnioSsl.getSslEngine((SslConnection) c).getApplicationProtocol();
    return p == null || p.isEmpty() ? null : p;
  }

  public static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }
}
