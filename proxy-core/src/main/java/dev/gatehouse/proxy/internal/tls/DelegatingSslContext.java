package dev.gatehouse.proxy.internal.tls;

import java.security.KeyManagementException;
import java.security.SecureRandom;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * An {@link SSLContext} that creates each engine from whatever context {@code current} returns at that
 * moment and lets {@code configure} adjust it. Used for certificate rotation (a new context is swapped
 * in; handshakes already running keep their engine) and for client engines that must verify the host
 * name.
 */
public final class DelegatingSslContext extends SSLContext {

  public DelegatingSslContext(Supplier<SSLContext> current, UnaryOperator<SSLEngine> configure) {
    super(new Spi(current, configure), current.get().getProvider(), current.get().getProtocol());
  }

  private static final class Spi extends SSLContextSpi {
    private final Supplier<SSLContext> current;
    private final UnaryOperator<SSLEngine> configure;

    Spi(Supplier<SSLContext> current, UnaryOperator<SSLEngine> configure) {
      this.current = current;
      this.configure = configure;
    }

    @Override
    protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
      throw new KeyManagementException("already initialised");
    }

    @Override
    protected SSLSocketFactory engineGetSocketFactory() {
      return current.get().getSocketFactory();
    }

    @Override
    protected SSLServerSocketFactory engineGetServerSocketFactory() {
      return current.get().getServerSocketFactory();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine() {
      return configure.apply(current.get().createSSLEngine());
    }

    @Override
    protected SSLEngine engineCreateSSLEngine(String host, int port) {
      return configure.apply(current.get().createSSLEngine(host, port));
    }

    @Override
    protected SSLSessionContext engineGetServerSessionContext() {
      return current.get().getServerSessionContext();
    }

    @Override
    protected SSLSessionContext engineGetClientSessionContext() {
      return current.get().getClientSessionContext();
    }
  }
}
