package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.IoThreads;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import dev.gatehouse.proxy.testsupport.TestProxy;
import io.undertow.server.protocol.http.HttpServerConnection;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class KeepAliveTest {

  @Test
  void manySequentialRequestsReuseOneUpstreamConnection() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("pong");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).ioThreads(1).build().start()) {
      HttpClient client = Clients.http();
      for (int i = 0; i < 200; i++) {
        HttpResponse<String> r = client.send(Clients.get(proxy, "/ping/" + i), HttpResponse.BodyHandlers.ofString());
        assertThat(r.body()).isEqualTo("pong");
      }

      assertThat(up.connections()).isEqualTo(1);
      assertThat(up.requests).hasSize(200);
    }
  }

  @Test
  void concurrentRequestsUseFewUpstreamConnections() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("pong");
         ProxyServer proxy = TestProxy.to(up.url())) {
      HttpClient client = Clients.http();
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      for (int round = 0; round < 20; round++) {
        List<CompletableFuture<HttpResponse<String>>> batch = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          batch.add(client.sendAsync(Clients.get(proxy, "/p"), HttpResponse.BodyHandlers.ofString()));
        }
        CompletableFuture.allOf(batch.toArray(new CompletableFuture<?>[0])).join();
        all.addAll(batch);
      }

      assertThat(all).allSatisfy(f -> assertThat(f.join().statusCode()).isEqualTo(200));
      assertThat(up.requests).hasSize(200);
      assertThat(up.connections()).isLessThanOrEqualTo(20);
    }
  }

  @Test
  void idleConnectionClosedByTheUpstreamIsNotReusedAndTheRequestSucceeds() throws Exception {
    // Serves one request per connection, then closes without saying so (no "Connection: close").
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).ioThreads(1).build().start()) {
      HttpClient client = Clients.http();
      for (int i = 0; i < 20; i++) {
        HttpResponse<String> r = client.send(Clients.get(proxy, "/x"), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
      }
      // each request reached the upstream exactly once, each on a connection of its own
      assertThat(up.requests).hasSize(20);
      assertThat(up.connections()).isEqualTo(20);
    }
  }

  @Test
  void connectionCloseFromTheUpstreamIsHonoured() throws Exception {
    try (RawUpstream up = RawUpstream.start(c -> {
          while (c.readRequest() != null) {
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            return;
          }
        });
         ProxyServer proxy = TestProxy.to(up.url())) {
      HttpClient client = Clients.http();
      for (int i = 0; i < 5; i++) {
        assertThat(client.send(Clients.get(proxy, "/x"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      }
      assertThat(up.connections()).isEqualTo(5);
    }
  }

  @Test
  void pipelinedChunkedRequestsOnOneClientConnectionAreBothAnswered() throws Exception {
    try (RawUpstream up = RawUpstream.start(c -> {
          RawUpstream.Request r;
          while ((r = c.readRequest()) != null) {
            c.write("HTTP/1.1 200 OK\r\nContent-Length: " + r.body.length + "\r\n\r\n" + r.bodyText());
          }
        });
         ProxyServer proxy = TestProxy.to(up.url());
         RawHttp client = RawHttp.connect(proxy.port())) {
      client.send("POST /1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n0\r\n\r\n"
          + "POST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n");

      RawHttp.Response first = client.readResponse();
      RawHttp.Response second = client.readResponse();

      assertThat(first.bodyText()).isEqualTo("one");
      assertThat(second.bodyText()).isEqualTo("two");
    }
  }

  // A complete request's connection keeps its read interest during the exchange (no epoll_ctl per
  // request); whatever the client sends or does meanwhile must still be handled after the exchange.

  @Test
  void aBodilessRequestKeepsTheConnectionsReadInterestWhileItIsServed() throws Exception {
    // the saving of two epoll_ctl per request: Undertow suspends the connection's reads for the exchange,
    // the proxy resumes them in the same I/O round. Seen from a filter, which runs during the exchange
    List<Boolean> resumed = new CopyOnWriteArrayList<>();
    Filter probe = (ex, chain) -> {
      HttpServerConnection c = (HttpServerConnection) ((ExchangeImpl) ex).hse().getConnection();
      resumed.add(c.getChannel().getSourceChannel().isReadResumed());
      return chain.proceed();
    };
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).ioThreads(1).addFilter(probe).build().start();
         RawHttp client = RawHttp.connect(proxy.port())) {
      for (int i = 0; i < 3; i++) {
        client.send("GET /" + i + " HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(client.readResponse().status).isEqualTo(200);
      }
      assertThat(resumed).containsExactly(true, true, true);
    }
  }

  @Test
  void aRequestSentWhileTheFirstIsInFlightIsAnsweredAfterItInOrder() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (RawUpstream up = RawUpstream.echoPath("/1", release);
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).ioThreads(1).build().start();
         RawHttp client = RawHttp.connect(proxy.port())) {
      client.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
      assertThat(up.nextRequest().requestLine).startsWith("GET /1 ");
      client.send("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"); // while /1 waits for its upstream
      client.send("GET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
      // the readable connection is parked, not polled. A measured interval, not a timing assertion: a
      // parked I/O thread uses no CPU however loaded the machine is; a spinning one uses it all
      long cpu = IoThreads.cpuNanos();
      new CountDownLatch(1).await(300, TimeUnit.MILLISECONDS);
      assertThat((IoThreads.cpuNanos() - cpu) / 1_000_000).as("I/O thread CPU ms while the data waits").isLessThan(100);
      release.countDown();

      assertThat(client.readResponse().bodyText()).isEqualTo("/1");
      assertThat(client.readResponse().bodyText()).isEqualTo("/2");
      assertThat(client.readResponse().bodyText()).isEqualTo("/3");
      assertThat(up.nextRequest().requestLine).startsWith("GET /2 ");
      assertThat(up.nextRequest().requestLine).startsWith("GET /3 ");
    }
  }

  @Test
  void aClientThatClosesWhileItsRequestIsInFlightLeavesNothingBehind() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    RecordingListener rec = new RecordingListener();
    try (RawUpstream up = RawUpstream.start(c -> {
          RawUpstream.Request r;
          while ((r = c.readRequest()) != null) {
            if (r.requestLine.startsWith("GET /held ")) {
              release.await(10, TimeUnit.SECONDS);
            }
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
          }
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).ioThreads(1).addListener(rec).build().start()) {
      try (RawHttp client = RawHttp.connect(proxy.port())) {
        client.send("GET /held HTTP/1.1\r\nHost: a\r\n\r\n");
        up.nextRequest();
      } // closed while the upstream holds the answer
      release.countDown();
      rec.awaitEnded(1);
      rec.await("connectionClosed"); // seen once the exchange is over, as before

      try (RawHttp next = RawHttp.connect(proxy.port())) {
        next.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(next.readResponse().bodyText()).isEqualTo("ok");
      }
      assertThat(up.nextRequest().requestLine).startsWith("GET /after ");
    }
  }

  @Test
  void upstreamMaxConnectionsQueuesAndServesEveryRequest() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("pong");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).upstreamMaxConnections(2)
             .upstreamMaxIdleConnections(2).ioThreads(1).build().start()) {
      HttpClient client = Clients.http();
      List<CompletableFuture<HttpResponse<String>>> batch = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        batch.add(client.sendAsync(Clients.get(proxy, "/q"), HttpResponse.BodyHandlers.ofString()));
      }

      assertThat(batch).allSatisfy(f -> assertThat(f.join().body()).isEqualTo("pong"));
      // one I/O thread: a freed connection goes straight to the next queued request, never closed and reopened
      assertThat(up.connections()).isLessThanOrEqualTo(2);
    }
  }

  @Test
  void overThePendingLimitRequestsGet503Quickly() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          release.await(20, java.util.concurrent.TimeUnit.SECONDS);
          c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).upstreamMaxConnections(1)
             .upstreamMaxIdleConnections(1).upstreamMaxPending(0).build().start()) {
      HttpClient client = Clients.http();
      CompletableFuture<HttpResponse<String>> first = client.sendAsync(Clients.get(proxy, "/slow"), HttpResponse.BodyHandlers.ofString());
      up.nextRequest();

      HttpResponse<String> second = client.send(Clients.get(proxy, "/fast"), HttpResponse.BodyHandlers.ofString());
      release.countDown();

      assertThat(second.statusCode()).isEqualTo(503);
      assertThat(first.join().statusCode()).isEqualTo(200);
    }
  }
}
