package dev.gatehouse.proxy.testsupport;

import dev.gatehouse.proxy.ProxyServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.time.Duration;

/** JDK HttpClient helpers. */
public final class Clients {
  private Clients() {}

  /** An HTTP/1.1 client with a short connect timeout, no proxy. */
  public static HttpClient http() {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .proxy(HttpClient.Builder.NO_PROXY)
        .build();
  }

  public static HttpRequest.Builder request(ProxyServer proxy, String pathAndQuery) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + pathAndQuery))
        .timeout(Duration.ofSeconds(20));
  }

  public static HttpRequest get(ProxyServer proxy, String pathAndQuery) {
    return request(proxy, pathAndQuery).GET().build();
  }
}
