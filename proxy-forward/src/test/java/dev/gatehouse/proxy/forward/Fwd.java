package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.ProxyServer;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Helpers for forward-proxy tests: small thread counts, loopback origins allowed explicitly. */
final class Fwd {
  private Fwd() {}

  /** A builder with few threads; the policy still denies loopback unless the test allows it. */
  static ForwardProxyBuilder builder() {
    return ForwardProxy.builder().ioThreads(2).workerThreads(4);
  }

  /** A policy allowing public destinations plus exactly {@code 127.0.0.1:port} (plain and CONNECT). */
  static EgressPolicy allowLoopback(int... ports) {
    EgressPolicy p = EgressPolicy.allowPublic();
    for (int port : ports) {
      p = p.allowHosts("127.0.0.1:" + port);
    }
    return p;
  }

  static ProxyServer start(ForwardProxyBuilder b) {
    return b.build().start();
  }

  /** A JDK HttpClient sending everything through {@code proxy}. */
  static HttpClient client(ProxyServer proxy) {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxy.port())))
        .build();
  }

  static HttpRequest.Builder get(String url) {
    return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20));
  }

  static HttpResponse<String> send(HttpClient client, HttpRequest request) throws Exception {
    return client.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
