package dev.gatehouse.proxy.internal.tls;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.BiFunction;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
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
final class ReleasingSslEngine extends SSLEngine {
  private static final Logger log = LoggerFactory.getLogger(ReleasingSslEngine.class);
  private static final ByteBuffer[] NOTHING = {ByteBuffer.allocate(0)};

  private final SSLEngine delegate;
  private volatile boolean inboundClosed;
  private volatile boolean outboundClosed;
  private volatile boolean releaseScheduled;

  ReleasingSslEngine(SSLEngine delegate) {
    super(delegate.getPeerHost(), delegate.getPeerPort());
    this.delegate = delegate;
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
  public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
    return delegate.wrap(srcs, offset, length, dst);
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
    return delegate.unwrap(src, dsts, offset, length);
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer src, ByteBuffer dst) throws SSLException {
    return delegate.wrap(src, dst);
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, ByteBuffer dst) throws SSLException {
    return delegate.wrap(srcs, dst);
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer dst) throws SSLException {
    return delegate.unwrap(src, dst);
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts) throws SSLException {
    return delegate.unwrap(src, dsts);
  }

  @Override
  public Runnable getDelegatedTask() {
    return delegate.getDelegatedTask();
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
  public boolean isInboundDone() {
    return delegate.isInboundDone();
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

  @Override
  public boolean isOutboundDone() {
    return delegate.isOutboundDone();
  }

  @Override
  public String[] getSupportedCipherSuites() {
    return delegate.getSupportedCipherSuites();
  }

  @Override
  public String[] getEnabledCipherSuites() {
    return delegate.getEnabledCipherSuites();
  }

  @Override
  public void setEnabledCipherSuites(String[] suites) {
    delegate.setEnabledCipherSuites(suites);
  }

  @Override
  public String[] getSupportedProtocols() {
    return delegate.getSupportedProtocols();
  }

  @Override
  public String[] getEnabledProtocols() {
    return delegate.getEnabledProtocols();
  }

  @Override
  public void setEnabledProtocols(String[] protocols) {
    delegate.setEnabledProtocols(protocols);
  }

  @Override
  public SSLSession getSession() {
    return delegate.getSession();
  }

  @Override
  public SSLSession getHandshakeSession() {
    return delegate.getHandshakeSession();
  }

  @Override
  public void beginHandshake() throws SSLException {
    delegate.beginHandshake();
  }

  @Override
  public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
    return delegate.getHandshakeStatus();
  }

  @Override
  public void setUseClientMode(boolean mode) {
    delegate.setUseClientMode(mode);
  }

  @Override
  public boolean getUseClientMode() {
    return delegate.getUseClientMode();
  }

  @Override
  public void setNeedClientAuth(boolean need) {
    delegate.setNeedClientAuth(need);
  }

  @Override
  public boolean getNeedClientAuth() {
    return delegate.getNeedClientAuth();
  }

  @Override
  public void setWantClientAuth(boolean want) {
    delegate.setWantClientAuth(want);
  }

  @Override
  public boolean getWantClientAuth() {
    return delegate.getWantClientAuth();
  }

  @Override
  public void setEnableSessionCreation(boolean flag) {
    delegate.setEnableSessionCreation(flag);
  }

  @Override
  public boolean getEnableSessionCreation() {
    return delegate.getEnableSessionCreation();
  }

  @Override
  public SSLParameters getSSLParameters() {
    return delegate.getSSLParameters();
  }

  @Override
  public void setSSLParameters(SSLParameters params) {
    delegate.setSSLParameters(params);
  }

  @Override
  public String getApplicationProtocol() {
    return delegate.getApplicationProtocol();
  }

  @Override
  public String getHandshakeApplicationProtocol() {
    return delegate.getHandshakeApplicationProtocol();
  }

  @Override
  public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
    delegate.setHandshakeApplicationProtocolSelector(selector == null ? null
        : (e, protocols) -> selector.apply(this, protocols));
  }

  @Override
  public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
    return delegate.getHandshakeApplicationProtocolSelector();
  }

  @Override
  public String toString() {
    return delegate.toString();
  }
}
