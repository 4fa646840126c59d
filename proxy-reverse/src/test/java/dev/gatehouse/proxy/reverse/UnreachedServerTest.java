package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A request that never reached an upstream (connection refused, pool limit) is retried on a server not
 * tried yet, whatever its method, and without using up a retry: no such request fails while another
 * server is available. Servers are tried in the order added ({@link #inOrder}).
 */
@Timeout(60)
class UnreachedServerTest {

  /** A user-written policy: the first usable server in the order added. */
  static final LoadBalancing inOrder = servers -> (exchange, usable) -> {
    for (LoadBalancing.Server s : servers) {
      if (usable.test(s)) {
        return s;
      }
    }
    return null;
  };

  static String closed() throws Exception {
    return "http://127.0.0.1:" + Backends.closedPort();
  }

  static ProxyServer proxy(UpstreamGroup g) {
    return ReverseProxy.builder().addRoute(Route.any().to(g)).build().start();
  }

  @Test
  void aRefusedConnectionDoesNotUseUpTheOnlyRetry() throws Exception {
    try (RawUpstream resets = RawUpstream.start(c -> {
          if (c.readRequest() != null) {
            c.reset();
          }
        });
        RawUpstream ok = RawUpstream.keepAlive("ok")) {
      UpstreamGroup g = UpstreamGroup.builder().add(resets.url()).add(closed()).add(ok.url())
          .loadBalancing(inOrder).build();
      try (ProxyServer proxy = proxy(g)) {
        HttpResponse<String> r = Backends.get(proxy.port(), "/x");
        assertThat(r.statusCode()).as("reset (the one retry), refused (free), then answered").isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok");
      }
      assertThat(resets.requests).hasSize(1);
      assertThat(ok.requests).hasSize(1);
    }
  }

  @Test
  void aPostThatNeverReachedAServerIsRetriedOnEveryServerNotTriedYet() throws Exception {
    try (RawUpstream ok = RawUpstream.keepAlive("ok")) {
      UpstreamGroup g = UpstreamGroup.builder().add(closed()).add(closed()).add(closed()).add(ok.url())
          .loadBalancing(inOrder).build();
      try (ProxyServer proxy = proxy(g)) {
        HttpResponse<String> r = Backends.post(proxy.port(), "/order", "{\"buy\":1}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok");
      }
      assertThat(ok.requests).singleElement().satisfies(req -> {
        assertThat(req.requestLine).isEqualTo("POST /order HTTP/1.1");
        assertThat(req.bodyText()).isEqualTo("{\"buy\":1}");
      });
    }
  }

  @Test
  void whenEveryServerRefusesTheClientGets502AfterOneTryEach() throws Exception {
    UpstreamGroup g = UpstreamGroup.builder().add(closed()).add(closed()).add(closed()).build();
    try (ProxyServer proxy = proxy(g)) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/x");
      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).isEqualTo("Bad Gateway\n");
    }
  }

  @Test
  void noRetriesMeansNoneEvenForARefusedConnection() throws Exception {
    try (RawUpstream ok = RawUpstream.keepAlive("ok")) {
      UpstreamGroup g = UpstreamGroup.builder().add(closed()).add(ok.url()).loadBalancing(inOrder).build();
      try (ProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().retry(RetryPolicy.none()).to(g))
          .build().start()) {
        assertThat(Backends.get(proxy.port(), "/x").statusCode()).isEqualTo(502);
      }
      assertThat(ok.requests).isEmpty();
    }
  }

  @Test
  void aPooledConnectionToAServerThatDiedIsNotTheClientsFailure() throws Exception {
    try (KillableUpstream dies = new KillableUpstream("dies"); RawUpstream ok = RawUpstream.keepAlive("ok")) {
      UpstreamGroup g = UpstreamGroup.builder().add(dies.url()).add(ok.url()).loadBalancing(inOrder).build();
      try (ProxyServer proxy = proxy(g)) {
        assertThat(Backends.get(proxy.port(), "/first").body()).isEqualTo("dies"); // its connection is pooled
        dies.kill();
        HttpResponse<String> get = Backends.get(proxy.port(), "/get");
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.body()).isEqualTo("ok");
        HttpResponse<String> post = Backends.post(proxy.port(), "/post", "once");
        assertThat(post.statusCode()).as("a POST that never reached the dead server").isEqualTo(200);
        assertThat(post.body()).isEqualTo("ok");
      }
      assertThat(dies.served.get()).isEqualTo(1);
      assertThat(ok.requests).extracting(r -> r.requestLine)
          .containsExactly("GET /get HTTP/1.1", "POST /post HTTP/1.1");
    }
  }

  @Test
  void aKeptAliveConnectionClosedAsItsServerGoesDownIsNotTheClientsFailure() throws Exception {
    // The 502 "cannot connect ...: Connection refused": a GET is written on a pooled connection
    // that the server closes as it goes down; the engine sends it again on a new connection (nothing of
    // it can have been acted on), which is refused. So it goes to another server.
    try (KillableUpstream dies = new KillableUpstream("first"); RawUpstream ok = RawUpstream.keepAlive("ok")) {
      dies.goDownOnRequest = 2;
      UpstreamGroup g = UpstreamGroup.builder().add(dies.url()).add(ok.url()).loadBalancing(inOrder).build();
      try (ProxyServer proxy = ReverseProxy.builder().ioThreads(1).addRoute(Route.any().to(g)).build().start()) {
        assertThat(Backends.get(proxy.port(), "/first").body()).isEqualTo("first");
        HttpResponse<String> r = Backends.get(proxy.port(), "/second");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok");
      }
      assertThat(dies.served.get()).isEqualTo(1);
      assertThat(ok.requests).singleElement().extracting(r -> r.requestLine).isEqualTo("GET /second HTTP/1.1");
    }
  }

  @Test
  void aPostWhoseServerClosedTheConnectionAfterReadingItIsNotSentElsewhere() throws Exception {
    // the server read the whole request and closed without answering: it may have acted on it
    try (KillableUpstream dies = new KillableUpstream("first"); RawUpstream ok = RawUpstream.keepAlive("ok")) {
      dies.goDownOnRequest = 2;
      UpstreamGroup g = UpstreamGroup.builder().add(dies.url()).add(ok.url()).loadBalancing(inOrder).build();
      try (ProxyServer proxy = ReverseProxy.builder().ioThreads(1).addRoute(Route.any().to(g)).build().start()) {
        assertThat(Backends.get(proxy.port(), "/first").body()).isEqualTo("first");
        HttpResponse<String> r = Backends.post(proxy.port(), "/second", "once");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).isEqualTo("Bad Gateway\n");
      }
      assertThat(ok.requests).isEmpty();
    }
  }

  @Test
  void aServerAtItsPoolLimitPassesTheRequestToAnotherServer() throws Exception {
    CountDownLatch slowArrived = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    try (RawUpstream busy = RawUpstream.start(c -> {
          RawUpstream.Request req;
          while ((req = c.readRequest()) != null) {
            if (req.requestLine.startsWith("GET /slow ")) {
              slowArrived.countDown();
              release.await(30, TimeUnit.SECONDS);
            }
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbusy");
          }
        });
        RawUpstream ok = RawUpstream.keepAlive("ok")) {
      UpstreamGroup g = UpstreamGroup.builder().add(busy.url()).add(ok.url()).loadBalancing(inOrder)
          .maxConnectionsPerServer(1).maxPendingRequestsPerServer(0).build();
      try (ProxyServer proxy = proxy(g)) {
        CompletableFuture<HttpResponse<String>> slow = Backends.CLIENT.sendAsync(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + proxy.port() + "/slow"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(slowArrived.await(10, TimeUnit.SECONDS)).isTrue();
        HttpResponse<String> r = Backends.post(proxy.port(), "/next", "x");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok");
        release.countDown();
        assertThat(slow.get(10, TimeUnit.SECONDS).body()).isEqualTo("busy");
      }
      assertThat(busy.requests).extracting(r -> r.requestLine).containsExactly("GET /slow HTTP/1.1");
    }
  }
}
