package dev.gatehouse.proxy.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.ReverseProxyServer;
import dev.gatehouse.proxy.reverse.UpstreamGroup;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The routes file: applied when it changes, a bad one rejected with the old routes kept. */
@Timeout(60)
class DynamicRoutesExampleTest {
  static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @TempDir
  Path dir;
  DemoBackends backends;
  Path file;

  @BeforeEach
  void start() throws Exception {
    backends = DemoBackends.start("api-1", "api-2", "web");
    file = dir.resolve("routes.properties");
  }

  @AfterEach
  void stop() {
    backends.close();
  }

  String backendOf(ReverseProxyServer proxy, String path) throws Exception {
    HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.headers().firstValue("X-Backend").orElseThrow();
  }

  String routes(String apiGroup) {
    return "group.api.servers = " + backends.url(0) + "\n"
        + "group.web.servers = " + backends.url(2) + "\n"
        + "routes = api, web\n"
        + "route.api.pathPrefix = /api\n"
        + "route.api.group = " + apiGroup + "\n"
        + "route.web.group = web\n";
  }

  @Test
  void aChangedFileIsAppliedAndGroupsKeptByNameStayTheSameObject() throws Exception {
    Files.writeString(file, routes("api"));
    DynamicRoutesExample.RoutesFile routes = new DynamicRoutesExample.RoutesFile(file);
    try (ReverseProxyServer proxy = routes.build(ReverseProxy.builder()).start()) {
      UpstreamGroup web = proxy.routes().get(1).group();
      assertThat(backendOf(proxy, "/api/x")).isEqualTo("api-1");
      assertThat(routes.applyIfChanged(proxy)).as("unchanged").isFalse();

      Files.writeString(file, routes("web"));
      assertThat(routes.applyIfChanged(proxy)).isTrue();
      assertThat(backendOf(proxy, "/api/x")).isEqualTo("web");
      assertThat(proxy.routes().get(0).group()).isSameAs(web).isSameAs(proxy.routes().get(1).group());

      Files.writeString(file, routes("api").replace("group.api.servers = " + backends.url(0),
          "group.api.servers = " + backends.url(1)));
      assertThat(routes.applyIfChanged(proxy)).isTrue();
      assertThat(backendOf(proxy, "/api/y")).isEqualTo("api-2");
      assertThat(proxy.routes().get(1).group()).isSameAs(web);
    }
  }

  @Test
  void aBadFileIsRejectedAndTheRoutesInUseStay() throws Exception {
    Files.writeString(file, routes("api"));
    DynamicRoutesExample.RoutesFile routes = new DynamicRoutesExample.RoutesFile(file);
    try (ReverseProxyServer proxy = routes.build(ReverseProxy.builder()).start()) {
      var before = proxy.routes();

      Files.writeString(file, routes("nope"));
      assertThat(routes.applyIfChanged(proxy)).isFalse();
      Files.writeString(file, routes("api").replace(backends.url(0), "ftp://nowhere"));
      assertThat(routes.applyIfChanged(proxy)).isFalse();
      Files.writeString(file, routes("api").replace("route.web.group", "route.web.pathPrefix = /api\nroute.web.group"));
      assertThat(routes.applyIfChanged(proxy)).as("two routes with the same conditions").isFalse();

      assertThat(proxy.routes()).isEqualTo(before);
      assertThat(backendOf(proxy, "/api/x")).isEqualTo("api-1");
      assertThat(backendOf(proxy, "/")).isEqualTo("web");
    }
  }

  @Test
  void theParserNamesWhatIsWrong() {
    DynamicRoutesExample.RoutesFile routes = new DynamicRoutesExample.RoutesFile(file);
    assertThatThrownBy(() -> routes.parse("routes = a\nroute.a.group = g\n"))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("route.a.group: \"g\" (expected: one of [])");
    assertThatThrownBy(() -> routes.parse("group.g.servers = http://a:1\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("routes: missing (expected: the route names, in matching order)");
    assertThatThrownBy(() -> routes.parse("group.g.servers = http://a:1*x\nroutes = a\nroute.a.group = g\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("group.g.servers: \"http://a:1*x\" (expected: uri or uri*weight)");
    assertThatThrownBy(() -> routes.parse("colour = blue\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("colour: unknown setting (expected: routes, route.*, group.*.servers)");
  }
}
