package dev.gatehouse.proxy.examples;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;

/**
 * Small demo backends for the examples, on the JDK's built-in HTTP server: each answers with its name,
 * the request line and the headers it received, so you can see what the proxy forwarded.
 */
public final class DemoBackends implements AutoCloseable {
  private final List<HttpServer> servers = new ArrayList<>();

  /** Starts {@code names.length} backends on free loopback ports. */
  public static DemoBackends start(String... names) throws IOException {
    DemoBackends b = new DemoBackends();
    for (String name : names) {
      b.servers.add(backend(name));
    }
    return b;
  }

  private static HttpServer backend(String name) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
    server.setExecutor(Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "demo-backend-" + name);
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/", exchange -> {
      byte[] requestBody;
      try (InputStream in = exchange.getRequestBody()) {
        requestBody = in.readAllBytes();
      }
      if (exchange.getRequestURI().getPath().endsWith("/fail")) {
        exchange.sendResponseHeaders(500, -1);
        exchange.close();
        return;
      }
      StringBuilder sb = new StringBuilder();
      sb.append("backend: ").append(name).append('\n');
      sb.append("request: ").append(exchange.getRequestMethod()).append(' ').append(exchange.getRequestURI()).append('\n');
      Map<String, List<String>> sorted = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      sorted.putAll(exchange.getRequestHeaders());
      sorted.forEach((k, v) -> sb.append("  ").append(k).append(": ").append(String.join(", ", v)).append('\n'));
      if (requestBody.length > 0) {
        sb.append("body: ").append(requestBody.length).append(" bytes\n");
      }
      byte[] out = sb.toString().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
      exchange.getResponseHeaders().set("X-Backend", name);
      exchange.sendResponseHeaders(200, out.length);
      try (OutputStream os = exchange.getResponseBody()) {
        os.write(out);
      }
    });
    server.start();
    return server;
  }

  /** {@code http://127.0.0.1:port} of backend {@code i}. */
  public String url(int i) {
    return "http://127.0.0.1:" + servers.get(i).getAddress().getPort();
  }

  @Override
  public void close() {
    for (HttpServer s : servers) {
      s.stop(0);
      ((java.util.concurrent.ExecutorService) s.getExecutor()).shutdownNow();
    }
  }
}
