package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.testsupport.LogCapture;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The two windows in which a route swap used to close a connection pool an exchange still needed: an
 * exchange that matched the old routes but had not yet chosen its server (so no group counted it), and a
 * pool shared by two groups no longer in use, closed when the first of them was drained while the
 * other still had requests queued on it.
 */
@Timeout(60)
class RouteSwapDrainTest {
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  /** Per held path: released by the test; a path without one is answered at once. */
  private final Map<String, CountDownLatch> holds = new ConcurrentHashMap<>();
  private RawUpstream held;
  private RawUpstream other;

  @AfterEach
  void stop() throws IOException {
    holds.values().forEach(CountDownLatch::countDown);
    if (held != null) {
      held.close();
    }
    if (other != null) {
      other.close();
    }
  }

  private RawUpstream upstream(String name) throws IOException {
    return RawUpstream.start(c -> {
      RawUpstream.Request r;
      while ((r = c.readRequest()) != null) {
        String path = r.requestLine.split(" ")[1];
        CountDownLatch gate = holds.get(path);
        if (gate != null) {
          gate.await(30, TimeUnit.SECONDS);
        }
        String body = name + " " + path;
        c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
      }
    });
  }

  private static CompletableFuture<HttpResponse<String>> get(ReverseProxyServer proxy, String path) {
    return CLIENT.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.yield();
    }
  }

  private static List<ProxyStatus.Pool> pools(ReverseProxyServer proxy, RawUpstream u) {
    return proxy.status().pools().stream().filter(p -> p.upstream().equals(u.url())).toList();
  }

  @Test
  void anExchangeBetweenItsMatchAndItsServerKeepsTheOldGroupsPoolOpen() throws Exception {
    held = upstream("old");
    other = upstream("new");
    CountDownLatch entered = new CountDownLatch(1);
    CompletableFuture<Void> gate = new CompletableFuture<>();
    Filter holdInFilter = (exchange, chain) -> {
      if (!exchange.request().path().endsWith("/held")) {
        return chain.proceed();
      }
      entered.countDown();
      return gate.thenCompose(v -> chain.proceed()); // between the match and the choice of a server
    };
    UpstreamGroup old = UpstreamGroup.builder().name("old").add(held.url()).build();
    try (LogCapture logs = new LogCapture();
        ReverseProxyServer proxy = ReverseProxy.builder()
            .addRoute(Route.any().name("old").addFilter(holdInFilter).to(old)).build().start()) {
      assertThat(get(proxy, "/warm").get(20, TimeUnit.SECONDS).body()).isEqualTo("old /warm");
      CompletableFuture<HttpResponse<String>> late = get(proxy, "/held");
      assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();

      proxy.routes(List.of(Route.any().name("a").to(UpstreamGroup.builder().name("a").add(other.url()).build())));
      proxy.routes(List.of(Route.any().name("b").to(UpstreamGroup.builder().name("b").add(other.url()).build())));
      assertThat(get(proxy, "/next").get(20, TimeUnit.SECONDS).body()).isEqualTo("new /next");
      // the group of the first swap, used by no exchange, is retired; the old one is not, it is held
      await("group a is retired", () -> logs.text().contains("upstream group a no longer used: drained"));
      assertThat(logs.text()).doesNotContain("upstream group old no longer used");
      assertThat(pools(proxy, held)).as("the old group's pool, while an exchange that matched it waits")
          .hasSize(1);

      gate.complete(null);
      HttpResponse<String> r = late.get(20, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("old /held");
      await("the old group is retired once the exchange is done", () -> logs.text()
          .contains("upstream group old no longer used: drained, 1 connection pool(s) closed"));
      await("its pool is gone", () -> pools(proxy, held).isEmpty());
    }
  }

  @Test
  void aPoolSharedByTwoRetiredGroupsStaysOpenUntilBothAreDrained() throws Exception {
    held = upstream("u");
    other = upstream("v");
    holds.put("/first", new CountDownLatch(1));
    holds.put("/second", new CountDownLatch(1));
    holds.put("/third", new CountDownLatch(1));
    // one connection per server: the second group's requests queue on the pool both groups share
    UpstreamGroup a = UpstreamGroup.builder().name("a").add(held.url()).maxConnectionsPerServer(1).build();
    UpstreamGroup b = UpstreamGroup.builder().name("b").add(held.url()).maxConnectionsPerServer(1).build();
    try (LogCapture logs = new LogCapture();
        ReverseProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().name("a").to(a)).build().start()) {
      CompletableFuture<HttpResponse<String>> first = get(proxy, "/first");
      assertThat(held.nextRequest().requestLine).startsWith("GET /first ");

      proxy.routes(List.of(Route.any().name("b").to(b)));
      CompletableFuture<HttpResponse<String>> second = get(proxy, "/second");
      CompletableFuture<HttpResponse<String>> third = get(proxy, "/third");
      await("two requests of group b queue on the shared pool", () -> pools(proxy, held).stream()
          .mapToInt(ProxyStatus.Pool::pendingRequests).sum() == 2);

      proxy.routes(List.of(Route.any().name("c").to(UpstreamGroup.builder().name("c").add(other.url()).build())));
      holds.get("/first").countDown(); // group a's last request ends; one of b's takes its connection slot
      assertThat(first.get(20, TimeUnit.SECONDS).body()).isEqualTo("u /first");
      assertThat(held.nextRequest().requestLine).matches("GET /(second|third) HTTP/1.1");
      await("group a is retired", () -> logs.text().contains("upstream group a no longer used: drained"));
      assertThat(logs.text()).contains("upstream group a no longer used: drained, 0 connection pool(s) closed");
      assertThat(pools(proxy, held)).as("the pool group b still queues on").hasSize(1);

      assertThat(pools(proxy, held).get(0).pendingRequests()).as("the other one still queued").isEqualTo(1);

      holds.get("/second").countDown();
      holds.get("/third").countDown();
      assertThat(second.get(20, TimeUnit.SECONDS).body()).isEqualTo("u /second");
      HttpResponse<String> r = third.get(20, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("u /third");
      await("group b is retired and closes the shared pool", () -> logs.text()
          .contains("upstream group b no longer used: drained, 1 connection pool(s) closed"));
      await("the shared pool is gone", () -> pools(proxy, held).isEmpty());
    }
  }
}
