package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class RoutingTest {
  private RawUpstream a;
  private RawUpstream b;

  private static RawUpstream named(String name) throws IOException {
    return RawUpstream.start(c -> {
      RawUpstream.Request r;
      while ((r = c.readRequest()) != null) {
        String body = name + " " + r.requestLine.split(" ")[1];
        c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
      }
    });
  }

  @BeforeEach
  void start() throws IOException {
    a = named("a");
    b = named("b");
  }

  @AfterEach
  void stop() throws IOException {
    a.close();
    b.close();
  }

  private static String get(ProxyServer proxy, String target, String host) throws IOException {
    RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    return r.status + " " + r.bodyText();
  }

  @Test
  void pathPrefixMatchesWholeSegments() throws IOException {
    try (ProxyServer proxy = ReverseProxy.builder()
        .addRoute(Route.pathPrefix("/api").to(a.url()))
        .addRoute(Route.any().to(b.url()))
        .build().start()) {
      assertThat(get(proxy, "/api", "x")).isEqualTo("200 a /api");
      assertThat(get(proxy, "/api/users?id=1", "x")).isEqualTo("200 a /api/users?id=1");
      assertThat(get(proxy, "/apix", "x")).isEqualTo("200 b /apix");
    }
  }

  @Test
  void firstMatchingRouteWins() throws IOException {
    try (ProxyServer proxy = ReverseProxy.builder()
        .addRoute(Route.pathPrefix("/api/admin").to(b.url()))
        .addRoute(Route.pathPrefix("/api").to(a.url()))
        .build().start()) {
      assertThat(get(proxy, "/api/admin/x", "x")).isEqualTo("200 b /api/admin/x");
      assertThat(get(proxy, "/api/x", "x")).isEqualTo("200 a /api/x");
    }
  }

  @Test
  void noMatchingRouteIs404AndNoUpstreamIsContacted() throws IOException {
    try (ProxyServer proxy = ReverseProxy.builder().addRoute(Route.path("/only").to(a.url())).build().start()) {
      assertThat(get(proxy, "/only", "x")).isEqualTo("200 a /only");
      assertThat(get(proxy, "/only/more", "x")).isEqualTo("404 Not Found\n");
      assertThat(a.requests).hasSize(1);
    }
  }

  @Test
  void virtualHostsRouteByHostIgnoringPortAndCase() throws IOException {
    try (ProxyServer proxy = ReverseProxy.builder()
        .addRoute(Route.host("api.example.com").to(a.url()))
        .addRoute(Route.host("*.example.com").to(b.url()))
        .build().start()) {
      assertThat(get(proxy, "/", "API.example.com:8080")).isEqualTo("200 a /");
      assertThat(get(proxy, "/", "www.example.com")).isEqualTo("200 b /");
      assertThat(get(proxy, "/", "example.com")).startsWith("404");
    }
  }

  @Test
  void methodAndHeaderConditionsMustAllHold() throws IOException {
    try (ProxyServer proxy = ReverseProxy.builder()
        .addRoute(Route.pathPrefix("/v").methods("POST").header("X-Version", "2").to(b.url()))
        .addRoute(Route.pathPrefix("/v").to(a.url()))
        .build().start()) {
      RawHttp.Response post2 = RawHttp.exchange(proxy.port(),
          "POST /v HTTP/1.1\r\nHost: x\r\nX-Version: 2\r\nContent-Length: 0\r\n\r\n");
      RawHttp.Response post1 = RawHttp.exchange(proxy.port(),
          "POST /v HTTP/1.1\r\nHost: x\r\nX-Version: 1\r\nContent-Length: 0\r\n\r\n");
      RawHttp.Response get2 = RawHttp.exchange(proxy.port(), "GET /v HTTP/1.1\r\nHost: x\r\nX-Version: 2\r\n\r\n");

      assertThat(post2.bodyText()).startsWith("b");
      assertThat(post1.bodyText()).startsWith("a");
      assertThat(get2.bodyText()).startsWith("a");
    }
  }

  @Test
  void stripPrefixAndRewritePrefixChangeTheForwardedPath() throws IOException {
    try (ProxyServer proxy = ReverseProxy.builder()
        .addRoute(Route.pathPrefix("/static").stripPrefix().to(a.url()))
        .addRoute(Route.pathPrefix("/api/v1").rewritePrefix("/internal/v2").to(b.url()))
        .build().start()) {
      assertThat(get(proxy, "/static/css/site.css?v=3", "x")).isEqualTo("200 a /css/site.css?v=3");
      assertThat(get(proxy, "/static", "x")).isEqualTo("200 a /");
      assertThat(get(proxy, "/api/v1/users", "x")).isEqualTo("200 b /internal/v2/users");
    }
  }

  @Test
  void dotSegmentsAreResolvedBeforeMatchingSoPrefixesCannotBeBypassed() throws IOException {
    try (ProxyServer proxy = ReverseProxy.builder()
        .addRoute(Route.pathPrefix("/admin").addFilter((ex, chain) ->
            java.util.concurrent.CompletableFuture.completedStage(dev.gatehouse.proxy.ProxyResponse.of(403, "no"))).to(b.url()))
        .addRoute(Route.any().to(a.url()))
        .build().start()) {
      assertThat(get(proxy, "/public/../admin/secret", "x")).startsWith("403");
      assertThat(get(proxy, "/public/%2e%2e/admin/secret", "x")).startsWith("403");
      assertThat(get(proxy, "//admin//secret", "x")).startsWith("403");
      assertThat(get(proxy, "/public/./page", "x")).isEqualTo("200 a /public/page");
      assertThat(get(proxy, "/../etc/passwd", "x")).startsWith("400");
      assertThat(b.requests).isEmpty();
    }
  }

  @Test
  void routeFiltersRunInsideGlobalFilters() throws IOException {
    List<String> order = new CopyOnWriteArrayList<>();
    Filter global = (ex, chain) -> {
      order.add("global");
      return chain.proceed().thenApply(r -> {
        order.add("global-response");
        return r;
      });
    };
    Filter route = (ex, chain) -> {
      order.add("route " + ex.request().path());
      return chain.proceed().thenApply(r -> {
        order.add("route-response");
        return r;
      });
    };
    try (ProxyServer proxy = ReverseProxy.builder()
        .addFilter(global)
        .addRoute(Route.pathPrefix("/r").stripPrefix().addFilter(route).to(a.url()))
        .build().start()) {
      assertThat(get(proxy, "/r/x", "h")).isEqualTo("200 a /x");
      assertThat(order).containsExactly("global", "route /x", "route-response", "global-response");
    }
  }

  @Test
  void hostIsPreservedByDefaultAndCanBeRewritten() throws Exception {
    try (ProxyServer keep = ReverseProxy.builder().addRoute(Route.any().to(a.url())).build().start();
         ProxyServer rewrite = ReverseProxy.builder().preserveHost(false).addRoute(Route.any().to(b.url())).build().start()) {
      get(keep, "/", "public.example.com");
      get(rewrite, "/", "public.example.com");

      assertThat(a.nextRequest().header("host")).isEqualTo("public.example.com");
      assertThat(b.nextRequest().header("host")).isEqualTo("127.0.0.1:" + b.port());
    }
  }
}
