package dev.gatehouse.proxy.internal.tls;

import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.XnioIoThread;

/**
 * A Conscrypt engine that gives its native state back as soon as its connection is closed. Conscrypt
 * frees an engine's {@code SSL} (tens of KiB of native memory and, in 2.5, the two file descriptors of a
 * pipe) only when both directions are closed <em>and</em> its {@code close_notify} has been wrapped out.
 * A client that leaves without {@code close_notify} (many do; {@code openssl s_time} always) makes
 * Undertow close the engine's inbound side, then its outbound side as the socket goes, and nobody wraps
 * again: the engine then waited for its finalizer, that is for a GC, which with a large heap came after
 * thousands of connections (RSS doubled and the process ran out of descriptors under a handshake load).
 *
 * <p>So once both sides are closed, this engine wraps the pending alert into a scratch buffer on the
 * I/O thread's next turn (after Undertow's own flush had its chance to send it), which lets Conscrypt
 * free everything at once. Wrapping a freed or drained engine is harmless: it answers {@code CLOSED}.
 * Everything else is the delegate's.
 */
final class ReleasingSslEngine extends ForwardingSslEngine {
  private static final Logger log = LoggerFactory.getLogger(ReleasingSslEngine.class);
  private static final ByteBuffer[] NOTHING = {ByteBuffer.allocate(0)};

  private volatile boolean inboundClosed;
  private volatile boolean outboundClosed;
  private volatile boolean releaseScheduled;

  ReleasingSslEngine(SSLEngine delegate) {
    super(delegate);
  }

  private void closedOneSide() {
    if (!inboundClosed || !outboundClosed || releaseScheduled) {
      return;
    }
    releaseScheduled = true;
    if (Thread.currentThread() instanceof XnioIoThread io) {
      io.execute(this::release);
    } else {
      release();
    }
  }

  /** Wraps out whatever the closed engine still holds (its close_notify), so that Conscrypt frees it. */
  void release() {
    ByteBuffer scratch = ByteBuffer.allocate(1024);
    try {
      for (int i = 0; i < 8; i++) {
        SSLEngineResult r = delegate.wrap(NOTHING, 0, 1, scratch);
        scratch.clear();
        if (r.bytesProduced() == 0) {
          return;
        }
      }
    } catch (SSLException | RuntimeException e) {
      log.debug("releasing a closed TLS engine: {}", e.toString());
    }
  }

  @Override
  public void closeInbound() throws SSLException {
    try {
      delegate.closeInbound();
    } finally {
      inboundClosed = true;
      closedOneSide();
    }
  }

  @Override
  public void closeOutbound() {
    try {
      delegate.closeOutbound();
    } finally {
      outboundClosed = true;
      closedOneSide();
    }
  }
}
