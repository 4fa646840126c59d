package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ProxyStartException;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.Route;
import dev.gatehouse.proxy.reverse.UpstreamGroup;
import java.util.concurrent.CountDownLatch;

/**
 * The README demo: a reverse proxy on port 8080 (or {@code PORT}) in front of three embedded demo
 * backends, weighted 3:3:2, with {@code /static} going to the first one only. Prints what to curl;
 * Ctrl-C stops it.
 */
public final class Demo {
  private Demo() {}

  static ProxyServer build(DemoBackends backends, int port) {
    return ReverseProxy.builder()
        .port(port)
        .addRoute(Route.pathPrefix("/static").stripPrefix().to(backends.url(0)))
        .addRoute(Route.any().to(UpstreamGroup.builder()
            .add(backends.url(0), 3)
            .add(backends.url(1), 3)
            .add(backends.url(2), 2)
            .build()))
        .build();
  }

  public static void main(String[] args) throws Exception {
    String portEnv = System.getenv("PORT");
    DemoBackends backends = DemoBackends.start("app-1", "app-2", "app-3");
    ProxyServer proxy;
    try {
      proxy = build(backends, portEnv == null ? 8080 : Integer.parseInt(portEnv)).start();
    } catch (ProxyStartException e) {
      if (portEnv != null) {
        throw e;
      }
      System.out.println("port 8080 is taken; using a free port instead (set PORT to choose one)");
      proxy = build(backends, 0).start();
    }

    ProxyServer running = proxy;
    String base = "http://127.0.0.1:" + proxy.port();
    System.out.println();
    System.out.println("Gatehouse demo: reverse proxy on " + base + " -> app-1, app-2, app-3 (weights 3, 3, 2)");
    System.out.println("Try:");
    System.out.println("  curl -i " + base + "/hello                  # see which backend answered and what it received");
    System.out.println("  for i in $(seq 8); do curl -s " + base + "/ | head -1; done   # 3:3:2 over 8 requests");
    System.out.println("  curl -i " + base + "/static/logo.png        # /static goes to app-1 with the prefix stripped");
    System.out.println("  curl -i -H 'X-Forwarded-For: 6.6.6.6' " + base + "/   # a forged X-Forwarded-For is replaced");
    System.out.println("  curl -i " + base + "/fail                   # the backend's 500 is passed through");
    System.out.println("Ctrl-C to stop.");

    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      running.close();
      backends.close();
      stop.countDown();
    }));
    stop.await();
  }
}
