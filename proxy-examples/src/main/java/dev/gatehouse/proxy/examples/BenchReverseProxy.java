package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.Route;
import java.util.concurrent.CountDownLatch;

/**
 * The reverse proxy the benchmark harness ({@code shared/bench}) measures: every path to {@code
 * ORIGIN_URL}, listening on {@code PROXY_HOST}:{@code PROXY_PORT}, production defaults. Logging is
 * slf4j-simple at its default (info): nothing is logged per request.
 */
public final class BenchReverseProxy {
  private BenchReverseProxy() {}

  public static void main(String[] args) throws Exception {
    String host = System.getenv().getOrDefault("PROXY_HOST", "127.0.0.1");
    int port = Integer.parseInt(required("PROXY_PORT"));
    String origin = required("ORIGIN_URL");

    ProxyServer proxy = ReverseProxy.builder()
        .host(host)
        .port(port)
        .addRoute(Route.any().to(origin))
        .upstreamMaxIdleConnections(128)
        .build()
        .start();
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      stop.countDown();
    }));
    stop.await();
  }

  private static String required(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) {
      System.err.println(name + " must be set (see shared/bench/README.md)");
      System.exit(2);
    }
    return v;
  }
}
