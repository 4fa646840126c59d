package dev.gatehouse.proxy.testsupport;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyRequest;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.Executor;

/** A {@link ProxyExchange} that no proxy made, for argument checks. */
public final class NoExchange implements ProxyExchange {
  @Override
  public ProxyRequest request() {
    throw new UnsupportedOperationException();
  }

  @Override
  public InetSocketAddress clientAddress() {
    return new InetSocketAddress("127.0.0.1", 1);
  }

  @Override
  public InetSocketAddress localAddress() {
    return new InetSocketAddress("127.0.0.1", 2);
  }

  @Override
  public String realClientIp() {
    return "127.0.0.1";
  }

  @Override
  public boolean isSecure() {
    return false;
  }

  @Override
  public <T> Optional<T> attribute(AttributeKey<T> key) {
    return Optional.empty();
  }

  @Override
  public <T> void attribute(AttributeKey<T> key, T value) {}

  @Override
  public Executor blockingExecutor() {
    return Runnable::run;
  }

  @Override
  public long startNanos() {
    return 0;
  }

  @Override
  public java.util.List<java.security.cert.X509Certificate> peerCertificates() {
    return java.util.List.of();
  }

  @Override
  public void onComplete(Runnable callback) {}
}
