package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.forward.CertificateAuthority;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.forward.EgressPolicy;
import dev.gatehouse.proxy.forward.ForwardProxy;
import dev.gatehouse.proxy.forward.InterceptionPolicy;
import dev.gatehouse.proxy.forward.TlsInterception;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * The forward proxy the benchmark harness measures (as its {@code --candidate-forward}):
 * listens on {@code PROXY_HOST}:{@code PROXY_PORT}; its egress policy is the production default
 * (public destinations only) plus exactly the loopback origin {@code ORIGIN_HOST}:{@code ORIGIN_PORT},
 * for plain requests and {@code CONNECT}. No access log, no debug logging: production settings.
 *
 * <p>TLS interception: with {@code MITM_CA_CERT_FILE} and {@code MITM_CA_KEY_FILE} (PEM), tunnels to
 * {@code ORIGIN_HOST}:{@code ORIGIN_PORT} are intercepted with that CA (other tunnels stay opaque);
 * {@code UPSTREAM_CA_FILE} (PEM), when set, is trusted for the server leg besides the JDK's roots.
 *
 * <p>{@code ADMIN_PORT} opens the admin listener on that loopback port; with {@code METRICS=1} the proxy
 * binds a Prometheus registry and the admin listener answers {@code /metrics}.
 *
 * <p>{@code CACHE=1} puts an in-memory HTTP cache (256 MiB, the defaults: it follows the origin's {@code
 * Cache-Control}) in front of the origin, as the harness's cache scenarios ask.
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
    String caCert = System.getenv("MITM_CA_CERT_FILE");
    String caKey = System.getenv("MITM_CA_KEY_FILE");
    if (caCert != null && !caCert.isEmpty() && caKey != null && !caKey.isEmpty()) {
      TlsInterception.Builder interception = TlsInterception.builder(
              CertificateAuthority.fromPem(Path.of(caCert), Path.of(caKey)))
          .policy(InterceptionPolicy.interceptNone().intercept(originHost + ":" + originPort));
      String upstreamCa = System.getenv("UPSTREAM_CA_FILE");
      if (upstreamCa != null && !upstreamCa.isEmpty()) {
        interception.addUpstreamTrustPem(Path.of(upstreamCa));
      }
      builder.intercept(interception.build());
    }
    BenchAdmin.apply(builder);
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
