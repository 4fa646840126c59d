package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class LifecycleTest {

  private static Set<Thread> threads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && !t.getName().startsWith("raw-upstream"))
        .collect(Collectors.toSet());
  }

  @Test
  void closeLeavesNoThreadBehind() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok")) {
      Set<Thread> before = threads();
      ProxyServer proxy = TestProxy.builder().upstream(up.url())
          .addFilter((ex, chain) -> CompletableFuture.supplyAsync(() -> "x", ex.blockingExecutor()).thenCompose(x -> chain.proceed()))
          .build().start();
      for (int i = 0; i < 5; i++) {
        assertThat(RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status).isEqualTo(200);
      }
      Set<Thread> during = threads();
      during.removeAll(before);
      assertThat(during).isNotEmpty();

      proxy.close();

      for (Thread t : during) {
        t.join(5000);
      }
      assertThat(during.stream().filter(Thread::isAlive).map(Thread::getName)).isEmpty();
      assertThat(proxy.isRunning()).isFalse();
    }
  }

  @Test
  void closeLetsInFlightExchangesFinishAndRefusesNewConnections() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          release.await(20, TimeUnit.SECONDS);
          c.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
        })) {
      ProxyServer proxy = TestProxy.builder().upstream(up.url()).shutdownGracePeriod(Duration.ofSeconds(10)).build().start();
      int port = proxy.port();
      CompletableFuture<RawHttp.Response> inFlight = CompletableFuture.supplyAsync(() -> {
        try {
          return RawHttp.exchange(port, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      up.nextRequest();

      CompletableFuture<Void> closing = CompletableFuture.runAsync(proxy::close);
      // the listener stops accepting once close() has begun, while the exchange above still runs.
      // A probe sends nothing, so it never reaches the upstream: a proxy still accepting leaves it
      // waiting for a request (the read times out, and the loop tries again); a refused connect, or
      // one closed without an answer, is a refusal. If new connections were never refused, the
      // loop ends at its deadline with refused false and the test fails.
      boolean refused = false;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
      while (!refused && System.nanoTime() < deadline) {
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
          s.setSoTimeout(100);
          refused = s.getInputStream().read() < 0;
        } catch (SocketTimeoutException e) {
          // accepted and waiting for a request: not refused yet
        } catch (IOException e) { // ConnectException, or a reset
          refused = true;
        }
      }
      assertThat(inFlight).isNotDone();
      release.countDown();

      assertThat(inFlight.get(20, TimeUnit.SECONDS).status).isEqualTo(200);
      assertThat(inFlight.get().bodyText()).isEqualTo("done");
      closing.get(20, TimeUnit.SECONDS);
      assertThat(refused).as("a new connection refused while the proxy closes").isTrue();
      assertThat(proxy.isRunning()).isFalse();
    }
  }

  @Test
  void closedProxyCannotBeRestarted() {
    ProxyServer proxy = TestProxy.builder().upstream("http://127.0.0.1:1").build().start();
    proxy.close();
    proxy.close(); // idempotent

    assertThatThrownBy(proxy::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("proxy closed (expected: a new build() to start again)");
  }
}
