package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.forward.EgressPolicy;
import dev.gatehouse.proxy.forward.ForwardProxy;
import java.util.concurrent.CountDownLatch;

/**
 * The forward proxy the benchmark harness measures ({@code shared/bench}, {@code --candidate-forward}):
 * listens on {@code PROXY_HOST}:{@code PROXY_PORT}; its egress policy is the production default
 * (public destinations only) plus exactly the loopback origin {@code ORIGIN_HOST}:{@code ORIGIN_PORT},
 * for plain requests and {@code CONNECT}. No access log, no debug logging: production settings. {@code
 * CACHE=1} caches plain-HTTP responses in memory (256 MiB, the defaults: it follows the origin's {@code
 * Cache-Control}), as the harness's cache scenarios ask.
 */
public final class BenchForwardProxy {
  private BenchForwardProxy() {}

  public static void main(String[] args) throws Exception {
    String host = System.getenv().getOrDefault("PROXY_HOST", "127.0.0.1");
    int port = Integer.parseInt(System.getenv().getOrDefault("PROXY_PORT", "18087"));
    String originHost = System.getenv().getOrDefault("ORIGIN_HOST", "127.0.0.1");
    int originPort = Integer.parseInt(System.getenv().getOrDefault("ORIGIN_PORT", "18080"));

    var builder = ForwardProxy.builder()
        .host(host)
        .port(port)
        .egress(EgressPolicy.allowPublic().allowHosts(originHost + ":" + originPort));
    String ioThreads = System.getenv("IO_THREADS"); // for experiments; default: the available processors
    if (ioThreads != null && !ioThreads.isEmpty()) {
      builder.ioThreads(Integer.parseInt(ioThreads));
    }
    HttpCache cache = "1".equals(System.getenv("CACHE")) ? HttpCache.inMemory(DataSize.ofMiB(256)) : null;
    if (cache != null) {
      builder.cache(cache);
    }
    ProxyServer proxy = builder.build().start();

    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      if (cache != null) {
        cache.close();
      }
      stop.countDown();
    }));
    stop.await();
  }
}
