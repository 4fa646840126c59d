package dev.gatehouse.proxy.examples;

import com.sun.net.httpserver.HttpServer;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.reverse.HealthCheck;
import dev.gatehouse.proxy.reverse.LoadBalancing;
import dev.gatehouse.proxy.reverse.OutlierDetection;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.RetryPolicy;
import dev.gatehouse.proxy.reverse.Route;
import dev.gatehouse.proxy.reverse.ServerStatus;
import dev.gatehouse.proxy.reverse.UpstreamGroup;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * Upstreams that fail, and a proxy that copes: least-connections balancing, active health checks,
 * outlier ejection, retries on the next server within a budget, and a circuit breaker per server. One
 * of the three backends ({@code flaky}) answers 503 to everything, its health check included: it is
 * taken out within seconds, and meanwhile the requests it fails are retried on a healthy server, so
 * clients see only 200s. {@code GET /status} on the admin port prints the group's state.
 */
public final class ResilientUpstreamsExample {
  private ResilientUpstreamsExample() {}

  public static void main(String[] args) throws Exception {
    DemoBackends apps = DemoBackends.start("app-1", "app-2");
    HttpServer flaky = failingBackend();
    String flakyUrl = "http://127.0.0.1:" + flaky.getAddress().getPort();

    UpstreamGroup backend = UpstreamGroup.builder()
        .name("backend")
        .add(apps.url(0))
        .add(apps.url(1))
        .add(flakyUrl)
        .loadBalancing(LoadBalancing.leastConnections())
        .healthCheck(HealthCheck.http("/healthz")          // every 2 s, 3 failures out, 2 passes back in
            .interval(Duration.ofSeconds(2)).timeout(Duration.ofSeconds(1))
            .unhealthyThreshold(3).healthyThreshold(2)
            .jitter(Duration.ofMillis(200)).build())
        .outlierDetection(OutlierDetection.builder()        // 3 failed requests in a row: out for 10 s, 20 s, ...
            .consecutiveFailures(3).baseEjectionTime(Duration.ofSeconds(10)).maxEjectionPercent(50).build())
        .maxConcurrentRequestsPerServer(200)                // circuit breaker: 503 at once beyond this
        .onHealthChange(e -> System.out.println("health: " + e.server() + " " + e.from() + " -> " + e.to()
            + " (" + e.reason() + ")"))
        .build();

    ProxyServer proxy = ReverseProxy.builder()
        .port(Integer.parseInt(System.getenv().getOrDefault("PORT", "8080")))
        .addRoute(Route.any()
            .retry(RetryPolicy.builder()
                .maxRetries(2)
                .retryOnStatus(502, 503, 504)                // for idempotent requests
                .tryTimeout(Duration.ofSeconds(2))
                .budget(0.2, 5)                              // at most 20% extra load (+5/s)
                .bufferBodyUpTo(64 * 1024)                   // so a PUT with a small body can be retried
                .build())
            .connectTimeout(Duration.ofSeconds(1))
            .readTimeout(Duration.ofSeconds(10))
            .to(backend))
        .build()
        .start();

    HttpServer admin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    admin.createContext("/status", x -> {
      StringBuilder sb = new StringBuilder();
      for (ServerStatus s : backend.status()) {
        sb.append(s.uri()).append(' ').append(s.state()).append(" in-flight=").append(s.activeRequests())
            .append(" ejections=").append(s.ejections()).append('\n');
      }
      byte[] body = sb.toString().getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(200, body.length);
      x.getResponseBody().write(body);
      x.close();
    });
    admin.start();

    String base = "http://127.0.0.1:" + proxy.port();
    System.out.println("ResilientUpstreamsExample on " + base + " -> app-1, app-2 and flaky (always 503)");
    System.out.println("  for i in $(seq 20); do curl -s -o /dev/null -w '%{http_code} ' " + base + "/; done; echo");
    System.out.println("  curl -s http://127.0.0.1:" + admin.getAddress().getPort() + "/status");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      admin.stop(0);
      flaky.stop(0);
      apps.close();
      stop.countDown();
    }));
    stop.await();
  }

  /** A backend that fails on purpose: 503 to every request, health checks included. */
  private static HttpServer failingBackend() throws java.io.IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    s.createContext("/", x -> {
      x.getRequestBody().readAllBytes();
      byte[] body = "flaky: overloaded\n".getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(503, body.length);
      x.getResponseBody().write(body);
      x.close();
    });
    s.start();
    return s;
  }
}
