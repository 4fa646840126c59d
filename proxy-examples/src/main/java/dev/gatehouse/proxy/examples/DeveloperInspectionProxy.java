package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.forward.ForwardProxy;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A developer's inspection proxy: point a local application at it ({@code -Dhttp.proxyHost=127.0.0.1
 * -Dhttp.proxyPort=8888}, or {@code http_proxy}) and see every request line it sends and the status it
 * got, as they happen. HTTPS shows as one {@code CONNECT} line per tunnel (the content stays encrypted).
 * Listens on 127.0.0.1:8888 (or {@code PORT}).
 */
public final class DeveloperInspectionProxy {
  private static final Logger log = LoggerFactory.getLogger("inspect");

  private DeveloperInspectionProxy() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8888"));
    Filter show = Filter.named("inspect", (exchange, chain) -> {
      long start = System.nanoTime();
      String line = exchange.request().method() + " " + exchange.request().scheme() + "://"
          + exchange.request().authority() + exchange.request().pathAndQuery();
      return chain.proceed().thenApply(response -> {
        log.info("{} -> {} ({} ms){}", line, response.status(), (System.nanoTime() - start) / 1_000_000,
            response.headers().get("Content-Type").map(t -> " " + t).orElse(""));
        return response;
      });
    });
    ProxyServer proxy = ForwardProxy.builder()
        .port(port)
        .addFilter(show)
        // and one line per exchange or tunnel once it is over, with sizes and duration
        .accessLog(AccessLog.logger("inspect.access", AccessLog.Format.COMMON))
        .build()
        .start();

    System.out.println("Inspection proxy on http://127.0.0.1:" + proxy.port());
    System.out.println("  curl -x http://127.0.0.1:" + proxy.port() + " http://example.com/");
    System.out.println("  java -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=" + proxy.port()
        + " -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=" + proxy.port() + " -jar your-app.jar");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      stop.countDown();
    }));
    stop.await();
  }
}
