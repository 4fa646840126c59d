package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

import com.github.tomakehurst.wiremock.WireMockServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** WireMock upstreams on dynamic loopback ports; each answers with its name by default. */
final class Backends implements AutoCloseable {
  final List<WireMockServer> servers = new ArrayList<>();

  static Backends start(int n) {
    Backends b = new Backends();
    for (int i = 0; i < n; i++) {
      b.add();
    }
    return b;
  }

  WireMockServer add() {
    WireMockServer s = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1").containerThreads(20)
        .asynchronousResponseEnabled(false));
    s.start();
    String name = "b" + servers.size();
    s.stubFor(any(anyUrl()).atPriority(10).willReturn(aResponse().withStatus(200).withHeader("X-Backend", name)
        .withBody(name)));
    servers.add(s);
    return s;
  }

  WireMockServer get(int i) {
    return servers.get(i);
  }

  String url(int i) {
    return "http://127.0.0.1:" + servers.get(i).port();
  }

  int requests(int i) {
    return servers.get(i).getAllServeEvents().size();
  }

  @Override
  public void close() {
    for (WireMockServer s : servers) {
      s.stop();
    }
  }

  static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
      .version(HttpClient.Version.HTTP_1_1).build();

  static HttpResponse<String> get(int port, String path, String... headers) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(int port, String path, String body) throws IOException, InterruptedException {
    return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A loopback port with nothing listening (bound, then closed). */
  static int closedPort() throws IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
