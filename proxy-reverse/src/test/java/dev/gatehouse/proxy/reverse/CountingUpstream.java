package dev.gatehouse.proxy.reverse;

import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.ServerConnection;
import io.undertow.util.Headers;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A small Undertow upstream that answers its name and counts connections: open now (as the server sees
 * them) and accepted in all, so a test can tell kept-alive connections from churn and leaks.
 */
final class CountingUpstream implements AutoCloseable {
  private final Undertow server;
  private final Set<ServerConnection> seen = ConcurrentHashMap.newKeySet();

  CountingUpstream(String name) {
    server = Undertow.builder()
        .addHttpListener(0, "127.0.0.1")
        .setIoThreads(1)
        .setWorkerThreads(2)
        .setServerOption(UndertowOptions.ENABLE_STATISTICS, true)
        .setHandler(x -> {
          seen.add(x.getConnection());
          x.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain");
          x.getResponseSender().send(name);
        })
        .build();
    server.start();
  }

  int port() {
    return ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
  }

  String url() {
    return "http://127.0.0.1:" + port();
  }

  /** Connections open now, as the server counts them. */
  long openConnections() {
    return server.getListenerInfo().get(0).getConnectorStatistics().getActiveConnections();
  }

  /** Connections that carried at least one request so far. */
  int connectionsUsed() {
    return seen.size();
  }

  long requests() {
    return server.getListenerInfo().get(0).getConnectorStatistics().getRequestCount();
  }

  @Override
  public void close() {
    server.stop();
  }
}
