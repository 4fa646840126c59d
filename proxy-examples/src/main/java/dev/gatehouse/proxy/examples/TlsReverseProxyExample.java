package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.ForwardedHeaders;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ServerTls;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.Route;
import dev.gatehouse.proxy.reverse.UpstreamGroup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * A whole nginx reverse-proxy configuration in Java, TLS and HTTP/2 included:
 *
 * <pre>
 * upstream backend_servers {
 *     server app-1.internal:8080 weight=3;
 *     server app-2.internal:8080 weight=3;
 *     server app-3.internal:8080 weight=2;
 *     keepalive 32;
 * }
 * server {
 *     listen 443 ssl http2;
 *     server_name api.example.com;
 *     ssl_certificate     /etc/letsencrypt/live/api.example.com/fullchain.pem;
 *     ssl_certificate_key /etc/letsencrypt/live/api.example.com/privkey.pem;
 *     location / {
 *         proxy_pass http://backend_servers;
 *         proxy_http_version 1.1;
 *         proxy_set_header Host $host;
 *         proxy_set_header X-Real-IP $remote_addr;
 *         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
 *         proxy_set_header X-Forwarded-Proto $scheme;
 *         proxy_buffering on;  proxy_buffer_size 16k;  proxy_buffers 8 16k;
 *         proxy_connect_timeout 5s;  proxy_send_timeout 60s;  proxy_read_timeout 60s;
 *     }
 * }
 * </pre>
 *
 * <p>Run with {@code TLS_CERT_FILE} and {@code TLS_KEY_FILE} pointing at your {@code fullchain.pem} and
 * {@code privkey.pem}; without them a self-signed certificate for {@code localhost} is made at start
 * (curl then needs {@code -k}). {@code PORT} defaults to 8443. The three backends are embedded demo
 * servers so that the example runs anywhere; in production they would be {@code
 * http://app-1.internal:8080} and so on.
 */
public final class TlsReverseProxyExample {
  private TlsReverseProxyExample() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8443"));
    Path cert;
    Path key;
    if (System.getenv("TLS_CERT_FILE") != null && System.getenv("TLS_KEY_FILE") != null) {
      cert = Path.of(System.getenv("TLS_CERT_FILE"));
      key = Path.of(System.getenv("TLS_KEY_FILE"));
    } else {
      SelfSignedCertificate self = SelfSignedCertificate.generate(Files.createTempDirectory("gatehouse-tls"),
          "localhost", "127.0.0.1");
      cert = self.chain();
      key = self.key();
      System.out.println("No TLS_CERT_FILE/TLS_KEY_FILE: using a self-signed certificate " + cert);
    }
    DemoBackends apps = DemoBackends.start("app-1", "app-2", "app-3");

    UpstreamGroup backendServers = UpstreamGroup.builder()  // upstream backend_servers {
        .name("backend_servers")
        .add(apps.url(0), 3)                                   //   server app-1.internal:8080 weight=3;
        .add(apps.url(1), 3)                                   //   server app-2.internal:8080 weight=3;
        .add(apps.url(2), 2)                                   //   server app-3.internal:8080 weight=2;
        .maxIdleConnectionsPerServer(32)                       //   keepalive 32;
        .build();

    ProxyServer proxy = ReverseProxy.builder()
        .host("127.0.0.1")                                     // listen 443 (on loopback for the example:
        .port(port)                                            //   host("0.0.0.0") to serve other machines)
        .tls(ServerTls.builder().pem(cert, key).build())       //   ssl; ssl_certificate; ssl_certificate_key
        .http2(true)                                           //   http2;  (ALPN h2, then http/1.1)
        // server_name api.example.com: the only server block is nginx's default server, so every name
        // reaches it; Route.host("api.example.com") would restrict it.
        .addRoute(Route.any()                                  // location / {
            .connectTimeout(Duration.ofSeconds(5))             //   proxy_connect_timeout 5s;
            .writeTimeout(Duration.ofSeconds(60))              //   proxy_send_timeout 60s;
            .readTimeout(Duration.ofSeconds(60))               //   proxy_read_timeout 60s;
            .to(backendServers))                               //   proxy_pass http://backend_servers;
        // proxy_http_version 1.1: HTTP/1.1 with keep-alive to the upstreams (the group's default; http2(true)
        // on the group would speak HTTP/2 to them).
        .preserveHost(true)                                    //   proxy_set_header Host $host;
        .forwardedHeaders(ForwardedHeaders.X_FORWARDED)        //   X-Real-IP, X-Forwarded-For (appended), X-Forwarded-Proto $scheme
        .responseBufferSize(8 * 16 * 1024)                     //   proxy_buffering on; proxy_buffers 8 16k;
        .build()
        .start();

    String base = "https://localhost:" + proxy.port();
    System.out.println("TlsReverseProxyExample on " + base + " (h2, http/1.1) -> app-1/2/3 weighted 3:3:2");
    System.out.println("  curl -k --http2 -i " + base + "/hello");
    System.out.println("  for i in $(seq 8); do curl -sk " + base + "/ | head -1; done");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      apps.close();
      stop.countDown();
    }));
    stop.await();
  }
}
