package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.ServerTls;
import dev.gatehouse.proxy.access.Cors;
import dev.gatehouse.proxy.auth.JwtAuth;
import dev.gatehouse.proxy.headers.HeaderRules;
import dev.gatehouse.proxy.headers.RequestId;
import dev.gatehouse.proxy.ratelimit.Limit;
import dev.gatehouse.proxy.ratelimit.RateLimit;
import dev.gatehouse.proxy.ratelimit.RateLimitKey;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.ReverseProxyBuilder;
import dev.gatehouse.proxy.reverse.Route;
import dev.gatehouse.proxy.reverse.UpstreamGroup;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;

/**
 * The reverse proxy the benchmark harness measures: every path to {@code
 * ORIGIN_URL}, listening on {@code PROXY_HOST}:{@code PROXY_PORT}, production defaults. Logging is
 * slf4j-simple at its default (info): nothing is logged per request.
 *
 * <p>The harness's TLS contract: with {@code PROXY_TLS=1} it terminates TLS on {@code PROXY_PORT} with
 * {@code TLS_CERT_FILE} / {@code TLS_KEY_FILE} (PEM; TLS 1.2 and 1.3), and with {@code PROXY_H2=1} it
 * offers HTTP/2 through ALPN ({@code h2}, then {@code http/1.1}); {@code TLS_PROVIDER} is {@code AUTO}
 * (default: Conscrypt, which this jar holds, where its native library loads), {@code JDK} or {@code
 * CONSCRYPT}. {@code IO_THREADS} overrides the
 * number of I/O threads (default: the available processors) and {@code RESPONSE_BUFFER_SIZE} the
 * per-exchange read-ahead (default 64 KiB), and {@code UPSTREAM_H2=1} speaks HTTP/2 to the origin (h2c
 * with prior knowledge, or ALPN for an https origin), and {@code ACCESS_LOG=file} writes a JSON-lines
 * access log, for experiments.
 *
 * <p>With {@code GATEWAY=1} the gateway chain runs in front of the origin, as the harness's {@code
 * --gateway} scenario expects: request id, CORS, a JWT required (keys from {@code JWT_JWKS_FILE}, issuer
 * {@code JWT_ISSUER}, audience {@code JWT_AUDIENCE}), a generous rate limit per client address that
 * still answers the {@code RateLimit} fields, and header rules; no compression (the bodies are random
 * bytes). {@code JWT_CACHE=0} turns the verified-token cache off, to measure what it saves, and {@code
 * GATEWAY_SKIP} leaves filters out of the chain, to measure what each costs: a comma-separated list of
 * {@code request-id}, {@code cors}, {@code jwt}, {@code rate-limit} and {@code header-rules}.
 *
 * <p>{@code ADMIN_PORT} opens the admin listener on that loopback port ({@code /healthz}, {@code
 * /readyz}, {@code /status}); with {@code METRICS=1} the proxy binds a Prometheus registry and the admin
 * listener answers {@code /metrics}.
 *
 * <p>{@code CACHE=1} puts an in-memory HTTP cache (256 MiB, the defaults: it follows the origin's {@code
 * Cache-Control}) in front of the origin, as the harness's cache scenarios ask.
 */
public final class BenchReverseProxy {
  private BenchReverseProxy() {}

  public static void main(String[] args) throws Exception {
    String host = System.getenv().getOrDefault("PROXY_HOST", "127.0.0.1");
    int port = Integer.parseInt(required("PROXY_PORT"));
    String origin = required("ORIGIN_URL");

    ReverseProxyBuilder builder = ReverseProxy.builder()
        .host(host)
        .port(port)
        .addRoute(Route.any().name("bench").to(UpstreamGroup.builder().add(origin)
            .http2("1".equals(System.getenv("UPSTREAM_H2"))).build()))
        .upstreamMaxIdleConnections(512); // h2 runs 500 requests at once: keep their connections
    if ("1".equals(System.getenv("GATEWAY"))) {
      addGatewayChain(builder);
    }
    String ioThreads = System.getenv("IO_THREADS");
    if (ioThreads != null && !ioThreads.isEmpty()) {
      builder.ioThreads(Integer.parseInt(ioThreads));
    }
    String rb = System.getenv("RESPONSE_BUFFER_SIZE");
    if (rb != null && !rb.isEmpty()) {
      builder.responseBufferSize(Integer.parseInt(rb));
    }
    String accessLog = System.getenv("ACCESS_LOG");
    if (accessLog != null && !accessLog.isEmpty()) {
      builder.accessLog(dev.gatehouse.proxy.AccessLog.file(Path.of(accessLog), dev.gatehouse.proxy.AccessLog.Format.JSON_LINES));
    }
    HttpCache cache = "1".equals(System.getenv("CACHE")) ? HttpCache.inMemory(DataSize.ofMiB(256)) : null;
    if (cache != null) {
      builder.cache(cache);
    }
    BenchAdmin.apply(builder);
    if ("1".equals(System.getenv("PROXY_TLS"))) {
      String provider = System.getenv().getOrDefault("TLS_PROVIDER", "AUTO");
      builder.tls(ServerTls.builder()
          .pem(Path.of(required("TLS_CERT_FILE")), Path.of(required("TLS_KEY_FILE")))
          .provider(ServerTls.Provider.valueOf(provider))
          .reloadInterval(Duration.ZERO) // the files do not change during a run
          .build());
      builder.http2("1".equals(System.getenv("PROXY_H2")));
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

  /** The harness's gateway scenario: the chain an API gateway runs, compression off. */
  private static void addGatewayChain(ReverseProxyBuilder builder) {
    JwtAuth.Builder jwt = JwtAuth.builder()
        .jwksFile(Path.of(required("JWT_JWKS_FILE")))
        .issuer(required("JWT_ISSUER"))
        .audience(required("JWT_AUDIENCE"))
        .claimToHeader("sub", "X-Consumer-Id");
    if ("0".equals(System.getenv("JWT_CACHE"))) {
      jwt.verifiedTokenCacheSize(0);
    }
    // the chain in its order, by the names GATEWAY_SKIP takes
    Map<String, Supplier<Filter>> chain = new LinkedHashMap<>();
    chain.put("request-id", RequestId::defaults);
    chain.put("cors", () -> Cors.builder().allowOrigins("https://app.bench.test")
        .exposeHeaders("X-Request-Id", "RateLimit").build());
    chain.put("jwt", jwt::build);
    chain.put("rate-limit", () -> RateLimit.builder().key(RateLimitKey.clientIp())
        .limit(Limit.perSecond(1_000_000).name("bench")).build());
    chain.put("header-rules", () -> HeaderRules.builder()
        .request(r -> r.set("X-Client-Ip", "${client_ip}").set("X-Consumer", "${principal}"))
        .response(r -> r.remove("Server").add("X-Gateway", "gatehouse"))
        .build());
    Set<String> skip = new HashSet<>();
    for (String name : System.getenv().getOrDefault("GATEWAY_SKIP", "").split(",")) {
      if (!name.isBlank()) {
        skip.add(name.trim());
      }
    }
    Set<String> unknown = new HashSet<>(skip);
    unknown.removeAll(chain.keySet());
    if (!unknown.isEmpty()) {
      System.err.println("GATEWAY_SKIP: unknown filter(s) " + unknown + " (expected: "
          + String.join(", ", chain.keySet()) + ")");
      System.exit(2);
    }
    chain.forEach((name, filter) -> {
      if (!skip.contains(name)) {
        builder.addFilter(filter.get());
      }
    });
  }

  private static String required(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) {
      System.err.println(name + " must be set (see the class comment of " + BenchReverseProxy.class.getName() + ")");
      System.exit(2);
    }
    return v;
  }
}
