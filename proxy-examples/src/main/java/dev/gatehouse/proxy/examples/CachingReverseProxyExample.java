package dev.gatehouse.proxy.examples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.cache.CacheStore;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.Route;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A micro-cache in front of a slow application: the embedded backend takes 400 ms per product page and
 * says {@code Cache-Control: max-age=5, stale-while-revalidate=60} and {@code Surrogate-Key: product-N
 * catalog}. The proxy answers from memory while a page is fresh, for a minute after that serves the
 * stale page at once while it refreshes it in the background (one request per page, however many
 * clients ask), and forgets pages by tag on a {@code PURGE} from this machine. Concurrent misses for a
 * page make one backend request. {@code Cache-Status} shows what happened to each request:
 *
 * <pre>
 * curl -s -o /dev/null -D - http://127.0.0.1:8080/products/42 | grep -i -e cache-status -e age
 *   Cache-Status: gatehouse; fwd=uri-miss; fwd-status=200; stored; ttl=5      (400 ms)
 *   Cache-Status: gatehouse; hit; ttl=3                                         (at once)
 *   Cache-Status: gatehouse; hit; ttl=-2; detail=stale-while-revalidate        (at once, refreshed behind)
 * curl -X PURGE -H 'Surrogate-Key: catalog' http://127.0.0.1:8080/             (purged N)
 * curl -X POST http://127.0.0.1:8080/products/42                               (changes it; invalidates its page)
 * curl http://127.0.0.1:8080/_cache                                            (hits, misses, bytes, ...)
 * </pre>
 */
public final class CachingReverseProxyExample {
  private CachingReverseProxyExample() {}

  public static void main(String[] args) throws Exception {
    SlowShop shop = SlowShop.start();
    HttpCache cache = HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(64)))
        .maxObjectSize(DataSize.ofMiB(1))
        .build();
    Filter stats = Filter.named("cache stats", (exchange, chain) -> exchange.request().path().equals("/_cache")
        ? exchange.respond(200, cache.stats() + "\n")
        : chain.proceed());

    ProxyServer proxy = ReverseProxy.builder()
        .port(Integer.parseInt(System.getenv().getOrDefault("PORT", "8080")))
        .cache(cache)
        .addFilter(cache.purgeRequests("127.0.0.1", "::1"))   // PURGE only from this machine
        .addFilter(stats)
        .addRoute(Route.any().to(shop.url()))
        .build()
        .start();

    String base = "http://127.0.0.1:" + proxy.port();
    System.out.println("CachingReverseProxyExample on " + base + " -> a backend that takes 400 ms per page");
    System.out.println("  curl -s -o /dev/null -D - " + base + "/products/42 | grep -i -e cache-status -e age");
    System.out.println("  curl -X PURGE -H 'Surrogate-Key: catalog' " + base + "/");
    System.out.println("  curl -X POST " + base + "/products/42");
    System.out.println("  curl " + base + "/_cache");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      cache.close();
      shop.close();
      stop.countDown();
    }));
    stop.await();
  }

  /** The slow application: product pages after 400 ms, with caching fields; POST changes a product. */
  static final class SlowShop implements AutoCloseable {
    private final HttpServer server;
    private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "slow-shop");
      t.setDaemon(true);
      return t;
    });
    private final Map<String, AtomicInteger> versions = new ConcurrentHashMap<>();

    private SlowShop(HttpServer server) {
      this.server = server;
    }

    static SlowShop start() throws IOException {
      HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
      SlowShop shop = new SlowShop(server);
      server.createContext("/", shop::handle);
      server.start();
      return shop;
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
      String path = exchange.getRequestURI().getPath();
      String id = path.startsWith("/products/") ? path.substring("/products/".length()) : "index";
      AtomicInteger version = versions.computeIfAbsent(id, k -> new AtomicInteger(1));
      if (exchange.getRequestMethod().equals("POST")) {
        version.incrementAndGet();
        send(exchange, 204, "", Map.of());
        return;
      }
      // the page takes 400 ms to make; the response is sent when it is ready, no thread waits for it
      later.schedule(() -> {
        String body = "product " + id + ", version " + version.get() + ", made at " + Instant.now() + "\n";
        send(exchange, 200, body, Map.of(
            "Content-Type", "text/plain; charset=utf-8",
            "Cache-Control", "max-age=5, stale-while-revalidate=60",
            "ETag", "\"" + id + "-v" + version.get() + "\"",
            "Surrogate-Key", "product-" + id + " catalog"));
      }, 400, TimeUnit.MILLISECONDS);
    }

    private static void send(HttpExchange exchange, int status, String body, Map<String, String> headers) {
      try (exchange) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        headers.forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
        exchange.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
        if (b.length > 0) {
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(b);
          }
        }
      } catch (IOException e) {
        // the proxy went away: nothing to do
      }
    }

    @Override
    public void close() {
      server.stop(0);
      later.shutdownNow();
    }
  }
}
