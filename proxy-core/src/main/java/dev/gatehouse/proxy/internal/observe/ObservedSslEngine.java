package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.events.TlsHandshake;
import dev.gatehouse.proxy.internal.tls.DelegatingSslContext;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * An {@link SSLEngine} that passes everything to the JDK's engine and tells {@link Telemetry} once when
 * its handshake completes ({@code FINISHED}) or fails (an {@link SSLException} before that). A client
 * that connects and leaves without a byte is neither.
 */
final class ObservedSslEngine extends SSLEngine {
  private final SSLEngine delegate;
  private final Telemetry telemetry;
  private boolean reported;

  private ObservedSslEngine(SSLEngine delegate, Telemetry telemetry) {
    super(delegate.getPeerHost(), delegate.getPeerPort());
    this.delegate = delegate;
    this.telemetry = telemetry;
  }

  /** A context whose server engines report their handshakes to {@code telemetry}. */
  static SSLContext wrap(SSLContext context, Telemetry telemetry) {
    return new DelegatingSslContext(() -> context, e -> new ObservedSslEngine(e, telemetry));
  }

  private SSLEngineResult observe(SSLEngineResult r) {
    if (!reported && r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
      reported = true;
      SSLSession s = delegate.getSession();
      telemetry.tlsHandshake(new Handshake(null, s.getProtocol(), s.getCipherSuite(), peer()));
    }
    return r;
  }

  private SSLException failed(SSLException e) {
    if (!reported) {
      reported = true;
      telemetry.tlsHandshake(new Handshake(e, null, null, peer()));
    }
    return e;
  }

  private String peer() {
    String h = delegate.getPeerHost();
    return h == null ? null : h + ":" + delegate.getPeerPort();
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
    try {
      return observe(delegate.wrap(srcs, offset, length, dst));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
    try {
      return observe(delegate.unwrap(src, dsts, offset, length));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer src, ByteBuffer dst) throws SSLException {
    try {
      return observe(delegate.wrap(src, dst));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, ByteBuffer dst) throws SSLException {
    try {
      return observe(delegate.wrap(srcs, dst));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer dst) throws SSLException {
    try {
      return observe(delegate.unwrap(src, dst));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts) throws SSLException {
    try {
      return observe(delegate.unwrap(src, dsts));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public Runnable getDelegatedTask() {
    return delegate.getDelegatedTask();
  }

  @Override
  public void closeInbound() throws SSLException {
    delegate.closeInbound();
  }

  @Override
  public boolean isInboundDone() {
    return delegate.isInboundDone();
  }

  @Override
  public void closeOutbound() {
    delegate.closeOutbound();
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
    try {
      delegate.beginHandshake();
    } catch (SSLException e) {
      throw failed(e);
    }
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
    delegate.setHandshakeApplicationProtocolSelector(selector == null ? null : (e, protocols) -> selector.apply(this, protocols));
  }

  @Override
  public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
    return delegate.getHandshakeApplicationProtocolSelector();
  }

  @Override
  public String toString() {
    return delegate.toString();
  }

  /** One handshake's outcome. */
  private static final class Handshake implements TlsHandshake {
    private final Throwable failure;
    private final String protocol;
    private final String cipherSuite;
    private final String peer;

    Handshake(Throwable failure, String protocol, String cipherSuite, String peer) {
      this.failure = failure;
      this.protocol = protocol;
      this.cipherSuite = cipherSuite;
      this.peer = peer;
    }

    @Override
    public boolean succeeded() {
      return failure == null;
    }

    @Override
    public Optional<Throwable> failure() {
      return Optional.ofNullable(failure);
    }

    @Override
    public Optional<String> protocol() {
      return Optional.ofNullable(protocol);
    }

    @Override
    public Optional<String> cipherSuite() {
      return Optional.ofNullable(cipherSuite);
    }

    @Override
    public Optional<String> peer() {
      return Optional.ofNullable(peer);
    }

    @Override
    public String toString() {
      return failure == null ? "TlsHandshake(" + protocol + " " + cipherSuite + ")" : "TlsHandshake(failed: " + failure + ")";
    }
  }
}
