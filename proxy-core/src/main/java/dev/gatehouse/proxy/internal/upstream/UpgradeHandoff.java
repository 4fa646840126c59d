package dev.gatehouse.proxy.internal.upstream;

import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import dev.gatehouse.proxy.internal.pool.UpstreamConnection;
import dev.gatehouse.proxy.internal.tunnel.Tunnel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;

/**
 * The hand-off of an upgraded connection (RFC 9110 §7.8): the upstream answered {@code 101 Switching
 * Protocols} on an HTTP/1.1 connection, which now belongs to this object rather than the pool. Once the
 * 101 is out to the client, the client's connection and the upstream's are joined by a {@link Tunnel}
 * and the call ends when the tunnel does. Made only when an upstream switches protocols.
 */
final class UpgradeHandoff {
  private static final Logger log = LoggerFactory.getLogger(UpgradeHandoff.class);
  /** How long the upstream connection waits for the client's side after the 101 was committed. */
  private static final long CLIENT_WAIT_SECONDS = 10;

  private final UpstreamCall call;
  private final ExchangeImpl ex;
  private UpstreamConnection connection;
  /** Bytes the upstream sent after its 101 head: the first of the new protocol, for the client. */
  private final ByteBuffer leftover;
  private boolean committed;
  private boolean tunneling;

  /**
   * @param connection the upstream connection, already out of the pool's hands (reads suspended)
   * @param rest what followed the 101 head in the last read (copied)
   */
  UpgradeHandoff(UpstreamCall call, ExchangeImpl ex, UpstreamConnection connection, ByteBuffer rest) {
    this.call = call;
    this.ex = ex;
    this.connection = connection;
    if (rest.hasRemaining()) {
      leftover = ByteBuffer.allocate(rest.remaining());
      leftover.put(rest).flip();
    } else {
      leftover = null;
    }
  }

  /** Whether the call must not be given up with the client's exchange: the 101 was sent, or a tunnel runs. */
  boolean holdsCall() {
    return committed || tunneling;
  }

  /**
   * The 101 is being sent to the client: the exchange will complete before the tunnel starts, so the
   * call must not be aborted with it. Should the client's connection never come (it closed first), the
   * upstream connection is closed after a while.
   */
  void committed() {
    committed = true;
    ex.ioThread().executeAfter(() -> {
      if (!tunneling && connection != null) {
        log.debug("{}: client gone before the tunnel started", ex);
        call.giveUp(new CancellationException("client gone before the tunnel started"));
      }
    }, CLIENT_WAIT_SECONDS, TimeUnit.SECONDS);
  }

  /**
   * Joins the client's connection (after the 101 was sent to it) and the upstream's in a {@link Tunnel};
   * on the I/O thread. The call ends when the tunnel does.
   *
   * @param idleMillis the tunnel's idle timeout
   */
  void startTunnel(StreamConnection client, long idleMillis) {
    UpstreamConnection c = connection;
    if (call.isAborted() || c == null) {
      IoUtils.safeClose(client);
      return;
    }
    tunneling = true;
    connection = null;
    try {
      Tunnel tunnel = Tunnel.start(client, c.streamConnection(), ex.hse().getConnection().getByteBufferPool(),
          ex.engine().bufferBudget(), null, leftover, idleMillis, (t, up, down, reason) -> {
            log.debug("{}: tunnel to {} ended ({}), {} bytes up, {} down", ex, call.endpoint(), reason, up, down);
            ex.recordTunnelBytes(up, down);
            Telemetry.tunnelClosed(ex);
            c.close();
            ex.engine().openTunnels().ended(t);
            call.tunnelEnded(reason.startsWith("error") ? new IOException("tunnel " + reason) : null);
          });
      Telemetry.tunnelOpened(ex);
      if (!tunnel.isEnded()) { // closed at the end of the shutdown grace period if still open
        ex.engine().openTunnels().opened(tunnel,
            "websocket".equalsIgnoreCase(ex.upgrade()) ? "WebSocket" : "upgraded connection", ex);
      }
    } catch (RuntimeException e) {
      log.warn("{}: cannot join client and upstream {}: {}", ex, call.endpoint(), e.getMessage());
      IoUtils.safeClose(client);
      c.close();
      call.tunnelEnded(e);
    }
  }

  /** Closes the upstream connection unless a tunnel took it. */
  void release() {
    UpstreamConnection c = connection;
    connection = null;
    if (c != null) {
      c.close();
    }
  }
}
