package dev.gatehouse.proxy.events;

import java.net.InetSocketAddress;

/** A client connection, shown to {@link ProxyListener#connectionOpened} and {@link ProxyListener#connectionClosed}. */
public interface ConnectionInfo {

  /** The client's address. */
  InetSocketAddress remoteAddress();

  /** The proxy's address the connection arrived on. */
  InetSocketAddress localAddress();

  /** Whether the connection is TLS. */
  boolean isSecure();

  /** The protocol of its first request, e.g. {@code HTTP/1.1} or {@code HTTP/2.0}. */
  String protocol();

  /** {@link System#nanoTime()} when the proxy first saw the connection. */
  long openedNanos();
}
