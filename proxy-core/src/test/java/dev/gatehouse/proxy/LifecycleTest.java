package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
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
      // the listener stops accepting once close() has begun
      boolean refused = false;
      for (int i = 0; i < 200 && !refused; i++) {
        try (Socket s = new Socket("127.0.0.1", port)) {
          s.setSoTimeout(200);
          s.getOutputStream().write("GET / HTTP/1.1\r\nHost: a\r\n\r\n".getBytes());
          refused = s.getInputStream().read() < 0 || i > 100;
        } catch (ConnectException | java.net.SocketTimeoutException e) {
          refused = true;
        } catch (IOException e) {
          refused = true;
        }
      }
      release.countDown();

      assertThat(inFlight.get(20, TimeUnit.SECONDS).status).isEqualTo(200);
      assertThat(inFlight.get().bodyText()).isEqualTo("done");
      closing.get(20, TimeUnit.SECONDS);
      assertThat(refused).isTrue();
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
