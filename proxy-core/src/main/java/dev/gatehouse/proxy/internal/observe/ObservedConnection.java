package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.events.ConnectionInfo;
import java.net.InetSocketAddress;

/** A client connection as the listeners see it. */
final class ObservedConnection implements ConnectionInfo {
  private final InetSocketAddress remote;
  private final InetSocketAddress local;
  private final boolean secure;
  private final String protocol;
  private final long openedNanos = System.nanoTime();

  ObservedConnection(InetSocketAddress remote, InetSocketAddress local, boolean secure, String protocol) {
    this.remote = remote;
    this.local = local;
    this.secure = secure;
    this.protocol = protocol;
  }

  @Override
  public InetSocketAddress remoteAddress() {
    return remote;
  }

  @Override
  public InetSocketAddress localAddress() {
    return local;
  }

  @Override
  public boolean isSecure() {
    return secure;
  }

  @Override
  public String protocol() {
    return protocol;
  }

  @Override
  public long openedNanos() {
    return openedNanos;
  }

  @Override
  public String toString() {
    return "Connection(" + remote + " " + protocol + (secure ? " TLS" : "") + ")";
  }
}
