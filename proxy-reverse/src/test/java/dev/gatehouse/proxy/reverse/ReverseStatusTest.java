package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ProxyStatus;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The reverse proxy's routes and groups in {@code proxy.status()} and the admin listener's {@code /status}. */
@Timeout(30)
class ReverseStatusTest {

  @Test
  void routesGroupsAndServersAreInTheSnapshotAndTheJson() throws Exception {
    try (Backends backends = Backends.start(2)) {
      UpstreamGroup api = UpstreamGroup.builder().name("api").add(backends.url(0), 3).add(backends.url(1))
          .loadBalancing(LoadBalancing.leastConnections()).maxConcurrentRequestsPerServer(10).build();
      try (ProxyServer proxy = ReverseProxy.builder().adminPort(0)
          .addRoute(Route.pathPrefix("/api").methods("GET").name("api").to(api))
          .addRoute(Route.any().to(UpstreamGroup.builder().name("web").add(backends.url(1)).build()))
          .build().start()) {
        assertThat(Backends.get(proxy.port(), "/api/x").statusCode()).isEqualTo(200);

        ProxyStatus s = proxy.status();
        assertThat(s.kind()).isEqualTo("reverse");
        assertThat(s.routes()).containsExactly(
            new ProxyStatus.Route("api", "pathPrefix(/api).methods(GET)", "api"),
            new ProxyStatus.Route("any()", "any()", "web"));
        assertThat(s.groups()).extracting(ProxyStatus.Group::name).containsExactly("api", "web");
        ProxyStatus.Group g = s.groups().get(0);
        assertThat(g.loadBalancing()).isEqualTo(LoadBalancing.leastConnections().toString());
        assertThat(g.servers()).containsExactly(
            new ProxyStatus.Server(backends.url(0), 3, "AVAILABLE", 0, 0, 0, false),
            new ProxyStatus.Server(backends.url(1), 1, "AVAILABLE", 0, 0, 0, false));

        HttpResponse<String> json = Backends.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + proxy.adminAddress().orElseThrow().getPort() + "/status")).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(json.body()).contains(
            "\"routes\":[{\"name\":\"api\",\"match\":\"pathPrefix(/api).methods(GET)\",\"group\":\"api\"},"
                + "{\"name\":\"any()\",\"match\":\"any()\",\"group\":\"web\"}]",
            "{\"name\":\"api\",\"loadBalancing\":\"" + g.loadBalancing() + "\",\"servers\":[{\"uri\":\""
                + backends.url(0) + "\",\"weight\":3,\"state\":\"AVAILABLE\",\"activeRequests\":0,"
                + "\"consecutiveFailures\":0,\"ejections\":0,\"circuitOpen\":false},");
      }
    }
  }
}
