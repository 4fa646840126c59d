package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.ForwardedHeaders;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.Route;
import dev.gatehouse.proxy.reverse.UpstreamGroup;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * A typical nginx reverse-proxy configuration, in Java, without TLS (see {@link TlsReverseProxyExample}
 * for {@code listen 443 ssl http2}):
 *
 * <pre>
 * upstream backend_servers {
 *     server app-1.internal:8080 weight=3;
 *     server app-2.internal:8080 weight=3;
 *     server app-3.internal:8080 weight=2;
 *     keepalive 32;
 * }
 * location / {
 *     proxy_pass http://backend_servers;
 *     proxy_set_header Host $host;
 *     proxy_set_header X-Real-IP $remote_addr;
 *     proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
 *     proxy_set_header X-Forwarded-Proto $scheme;
 *     proxy_buffering on;  proxy_buffer_size 16k;  proxy_buffers 8 16k;
 *     proxy_connect_timeout 5s;  proxy_send_timeout 60s;  proxy_read_timeout 60s;
 * }
 * </pre>
 *
 * Here the three backends are embedded demo servers so that the example runs anywhere; in production
 * they would be {@code http://app-1.internal:8080} and so on.
 */
public final class ReverseProxyExample {
  private ReverseProxyExample() {}

  public static void main(String[] args) throws Exception {
    DemoBackends apps = DemoBackends.start("app-1", "app-2", "app-3");

    ProxyServer proxy = ReverseProxy.builder()
        .host("127.0.0.1")
        .port(Integer.parseInt(System.getenv().getOrDefault("PORT", "8080")))
        .addRoute(Route.any().to(UpstreamGroup.builder()   // location / { proxy_pass http://backend_servers; }
            .add(apps.url(0), 3)                           // server app-1.internal:8080 weight=3;
            .add(apps.url(1), 3)                           // server app-2.internal:8080 weight=3;
            .add(apps.url(2), 2)                           // server app-3.internal:8080 weight=2;
            .build()))
        .upstreamMaxIdleConnections(32)                    // keepalive 32;  (HTTP/1.1 to upstreams, as nginx)
        .preserveHost(true)                                // proxy_set_header Host $host;
        .forwardedHeaders(ForwardedHeaders.X_FORWARDED)    // X-Real-IP, X-Forwarded-For (appended), X-Forwarded-Proto
        .responseBufferSize(8 * 16 * 1024)                 // proxy_buffering on; proxy_buffers 8 16k;
        .connectTimeout(Duration.ofSeconds(5))             // proxy_connect_timeout 5s;
        .readTimeout(Duration.ofSeconds(60))               // proxy_read_timeout 60s; (and proxy_send_timeout)
        .build()
        .start();

    System.out.println("ReverseProxyExample on http://127.0.0.1:" + proxy.port() + " -> app-1/2/3 weighted 3:3:2");
    System.out.println("  for i in $(seq 8); do curl -s http://127.0.0.1:" + proxy.port() + "/ | head -1; done");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      apps.close();
      stop.countDown();
    }));
    stop.await();
  }
}
