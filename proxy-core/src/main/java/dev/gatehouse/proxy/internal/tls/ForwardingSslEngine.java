package dev.gatehouse.proxy.internal.tls;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.BiFunction;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * An {@link SSLEngine} that passes every call to {@code delegate}; subclasses override what they add to.
 * An ALPN selector set on it is given this engine, not the delegate, as Undertow expects.
 */
abstract class ForwardingSslEngine extends SSLEngine {
  /** The engine doing the work. */
  protected final SSLEngine delegate;

  ForwardingSslEngine(SSLEngine delegate) {
    super(delegate.getPeerHost(), delegate.getPeerPort());
    this.delegate = delegate;
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
