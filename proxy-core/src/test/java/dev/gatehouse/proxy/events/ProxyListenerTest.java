package dev.gatehouse.proxy.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.testsupport.NoExchange;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ProxyListenerTest {

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void aProxiedExchangeReportsItsEventsInOrder() throws Exception {
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("hello");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addListener(events).build().start()) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "POST /x?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
      assertThat(r.status).isEqualTo(200);
      events.awaitEnded(1);

      assertThat(events.events("exchange", "attempt", "committed")).containsExactly(
          "exchangeStarted POST /x?q=1 status=0",
          "attemptStarted #1 - http://127.0.0.1:" + up.port(),
          "committed 200 upstream",
          "attemptEnded #1 response 200",
          "exchangeEnded upstream 200 in=3 out=5 attempts=1");
      ExchangeInfo ended = events.ended.get(0);
      assertThat(ended.outcome()).isEqualTo(ExchangeOutcome.UPSTREAM);
      assertThat(ended.error()).isEmpty();
      assertThat(ended.route()).isEmpty();
      assertThat(ended.durationNanos()).isPositive();
      UpstreamAttempt attempt = events.attempts.get(0);
      assertThat(attempt.host()).isEqualTo("127.0.0.1");
      assertThat(attempt.port()).isEqualTo(up.port());
      assertThat(attempt.group()).isEmpty();
      assertThat(attempt.error()).isEmpty();
      assertThat(attempt.durationNanos()).isBetween(0L, ended.durationNanos());
      assertThat(up.nextRequest().bodyText()).isEqualTo("abc");
    }
  }

  @Test
  void aShortCircuitIsLocalAndContactsNoUpstream() throws Exception {
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("never");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addListener(events)
             .addFilter((ex, chain) -> CompletableFuture.completedStage(ProxyResponse.of(401, "no")))
             .build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(401);
      events.awaitEnded(1);

      assertThat(events.events("exchange", "attempt", "committed")).containsExactly(
          "exchangeStarted GET / status=0", "committed 401 local", "exchangeEnded local 401 in=0 out=2 attempts=0");
      assertThat(up.connections()).isZero();
    }
  }

  @Test
  void aRefusedUpstreamIsAConnectErrorAndAnErrorAnswer() throws Exception {
    RecordingListener events = new RecordingListener();
    try (ProxyServer proxy = TestProxy.builder().upstream("http://127.0.0.1:" + closedPort()).addListener(events)
        .build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(502);
      events.awaitEnded(1);

      assertThat(events.events("attemptEnded", "committed", "exchangeEnded")).containsExactly(
          "attemptEnded #1 connect-error 0",
          "committed 502 local error=UpstreamConnectException",
          "exchangeEnded error 502 in=0 out=12 attempts=1");
      assertThat(events.attempts.get(0).error()).containsInstanceOf(UpstreamConnectException.class);
      assertThat(events.ended.get(0).error()).containsInstanceOf(UpstreamConnectException.class);
    }
  }

  @Test
  void anUpstreamTooSlowIsATimeout() throws Exception {
    RecordingListener events = new RecordingListener();
    CountDownLatch release = new CountDownLatch(1);
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          release.await(20, TimeUnit.SECONDS);
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).readTimeout(Duration.ofMillis(200))
             .addListener(events).build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(504);
      release.countDown();
      events.awaitEnded(1);

      assertThat(events.events("attemptEnded", "exchangeEnded")).containsExactly(
          "attemptEnded #1 timeout 0", "exchangeEnded error 504 in=0 out=16 attempts=1");
    }
  }

  @Test
  void anUpstreamResetBeforeTheResponseIsAReset() throws Exception {
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          c.reset();
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addListener(events).build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(502);
      events.awaitEnded(1);

      assertThat(events.events("attemptEnded")).containsExactly("attemptEnded #1 reset 0");
    }
  }

  @Test
  void anUpstreamFailingMidBodyAbortsTheExchange() throws Exception {
    RecordingListener events = new RecordingListener();
    CountDownLatch clientHasBytes = new CountDownLatch(1);
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
          clientHasBytes.await(10, TimeUnit.SECONDS);
          c.socket.shutdownOutput(); // ends the body early
          c.in.readAllBytes();
        });
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addListener(events).build().start();
         RawHttp client = RawHttp.connect(proxy.port())) {
      client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      StringBuilder got = new StringBuilder();
      while (!got.toString().endsWith("0123456789")) {
        int b = client.input().read();
        assertThat(b).isNotNegative();
        got.append((char) b);
      }
      clientHasBytes.countDown();
      assertThat(client.input().readAllBytes()).isEmpty(); // closed: the body stays short
      events.awaitEnded(1);

      assertThat(events.events("committed", "attemptEnded", "exchangeEnded")).containsExactly(
          "committed 200 upstream", "attemptEnded #1 reset 200", "exchangeEnded aborted 200 in=0 out=10 attempts=1");
    }
  }

  @Test
  void aResponseTransformerFailingBeforeTheBodyWasSentIsAnErrorAnswer() throws Exception {
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("a body longer than four bytes");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addListener(events)
             .addFilter((ex, chain) -> chain.proceed().thenApply(r -> r.transformBody(
                 dev.gatehouse.proxy.BodyTransformers.aggregate(4, b -> b))))
             .build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(502);
      events.awaitEnded(1);

      assertThat(events.events("committed", "exchangeEnded")).containsExactly("committed 200 upstream",
          "committed 502 local error=BodyTooLargeException", "exchangeEnded error 502 in=0 out=12 attempts=1");
    }
  }

  @Test
  void aMalformedRequestIsRejectedBeforeTheFiltersAndStillEnds() throws Exception {
    RecordingListener events = new RecordingListener();
    try (ProxyServer proxy = TestProxy.builder().upstream("http://127.0.0.1:1").addListener(events).build().start()) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(),
          "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
      assertThat(r.status).isEqualTo(501);
      events.awaitEnded(1);

      assertThat(events.events("exchange", "attempt", "committed")).containsExactly(
          "exchangeStarted POST / status=0", "exchangeEnded rejected 501 in=0 out=0 attempts=0");
    }
  }

  @Test
  void aClientConnectionIsSeenOnceWhateverItsRequests() throws Exception {
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addListener(events).build().start()) {
      try (RawHttp client = RawHttp.connect(proxy.port())) {
        for (int i = 0; i < 3; i++) {
          assertThat(client.send("GET /" + i + " HTTP/1.1\r\nHost: a\r\n\r\n").readResponse().status).isEqualTo(200);
        }
        events.awaitEnded(3);
        assertThat(proxy.status().activeConnections()).hasValue(1);
      }
      events.await("connectionClosed");

      assertThat(events.events("connection")).containsExactly("connectionOpened HTTP/1.1", "connectionClosed HTTP/1.1");
      assertThat(proxy.status().activeConnections()).hasValue(0);
      assertThat(proxy.status().activeExchanges()).isZero();
    }
  }

  @Test
  void aFailingListenerHurtsNeitherTheExchangeNorTheOtherListeners() throws Exception {
    RecordingListener events = new RecordingListener();
    ProxyListener broken = new ProxyListener() {
      @Override
      public void exchangeStarted(ExchangeInfo exchange) {
        throw new IllegalStateException("boom");
      }

      @Override
      public void responseCommitted(ExchangeInfo exchange) {
        throw new IllegalStateException("boom");
      }

      @Override
      public void exchangeEnded(ExchangeInfo exchange) {
        throw new IllegalStateException("boom");
      }
    };
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addListener(broken).addListener(events)
             .build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").bodyText()).isEqualTo("ok");
      events.awaitEnded(1);

      assertThat(events.events("exchangeEnded")).containsExactly("exchangeEnded upstream 200 in=0 out=2 attempts=1");
    }
  }

  @Test
  void withoutListenersTheProxyMakesNoEventObjects() throws Exception {
    AtomicReference<Object> observed = new AtomicReference<>("unset");
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addFilter((ex, chain) -> {
           observed.set(((ExchangeImpl) ex).observed());
           return chain.proceed();
         }).build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(200);

      assertThat(observed.get()).isNull();
      assertThat(proxy.status().activeConnections()).isEmpty();
    }
  }

  @Test
  void aFilterReportsItsDecisionsToTheListeners() throws Exception {
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addListener(events).addFilter((ex, chain) -> {
           Decisions.report(ex, Decisions.CACHE, "miss", "key /x");
           return chain.proceed();
         }).build().start()) {
      assertThat(RawHttp.exchange(proxy.port(), "GET /x HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(200);
      events.awaitEnded(1);

      assertThat(events.events("decision")).containsExactly("decision cache miss key /x");
    }
  }

  @Test
  void decisionKindsAndOutcomesMustBeShortTokens() {
    assertThatThrownBy(() -> Decisions.report(new NoExchange(), "Cache", "hit", ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("kind: \"Cache\" (expected: 1-32 lower-case letters, digits, '-', '_' or '.')");
    assertThatThrownBy(() -> Decisions.report(new NoExchange(), "cache", "a b", ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("outcome: \"a b\" (expected: 1-32 lower-case letters, digits, '-', '_' or '.')");
    assertThatThrownBy(() -> Decisions.report(new NoExchange(), "cache", "hit", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("detail");
  }

  @Test
  void listenersSeeEveryExchangeOfAConcurrentLoad() throws Exception {
    RecordingListener events = new RecordingListener();
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = TestProxy.builder().upstream(up.url()).addListener(events).build().start()) {
      List<CompletableFuture<Integer>> calls = new java.util.ArrayList<>();
      for (int i = 0; i < 20; i++) {
        calls.add(CompletableFuture.supplyAsync(() -> {
          try {
            return RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status;
          } catch (java.io.IOException e) {
            throw new RuntimeException(e);
          }
        }));
      }
      for (CompletableFuture<Integer> c : calls) {
        assertThat(c.get(20, TimeUnit.SECONDS)).isEqualTo(200);
      }
      events.awaitEnded(20);

      assertThat(events.events("exchangeStarted")).hasSize(20);
      assertThat(events.events("exchangeEnded upstream 200")).hasSize(20);
      assertThat(proxy.status().activeExchanges()).isZero();
    }
  }
}
