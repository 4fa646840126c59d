package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class OnCompleteTest {
  private final HttpClient client = Clients.http();

  @Test
  void callbacksRunOnceInOrderOnTheIoThreadAfterTheWholeBodyWasSent() throws Exception {
    List<String> events = new CopyOnWriteArrayList<>();
    CountDownLatch done = new CountDownLatch(2);
    Filter f = (ex, chain) -> {
      ex.onComplete(() -> {
        events.add("first on " + Thread.currentThread().getName());
        done.countDown();
      });
      ex.onComplete(() -> {
        events.add("second");
        done.countDown();
      });
      return chain.proceed().thenApply(r -> r.transformBody(new BodyTransformer() {
        @Override
        public java.nio.ByteBuffer transform(java.nio.ByteBuffer chunk) {
          return chunk;
        }

        @Override
        public java.nio.ByteBuffer finish() {
          events.add("body finished");
          return BodyTransformers.EMPTY;
        }
      }));
    };
    try (RawUpstream upstream = RawUpstream.keepAlive("hello");
        ProxyServer proxy = TestProxy.builder().upstream(upstream.url()).addFilter(f).build().start()) {
      HttpResponse<String> r = client.send(Clients.get(proxy, "/x"), HttpResponse.BodyHandlers.ofString());

      assertThat(r.body()).isEqualTo("hello");
      assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(events).hasSize(3);
      assertThat(events.get(0)).isEqualTo("body finished");
      assertThat(events.get(1)).startsWith("first on ").contains("I/O");
      assertThat(events.get(2)).isEqualTo("second");
    }
  }

  @Test
  void callbacksRunForShortCircuitedExchangesAndAtOnceWhenRegisteredLate() throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    AtomicReference<ProxyExchange> seen = new AtomicReference<>();
    Filter f = (ex, chain) -> {
      seen.set(ex);
      ex.onComplete(done::countDown);
      return CompletableFuture.completedFuture(ProxyResponse.of(403, "no"));
    };
    try (ProxyServer proxy = TestProxy.builder().addFilter(f).build().start()) {
      assertThat(client.send(Clients.get(proxy, "/x"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(403);
      assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
      CountDownLatch late = new CountDownLatch(1);
      seen.get().onComplete(late::countDown);
      assertThat(late.getCount()).isZero();
    }
  }

  @Test
  void callbacksRunWhenTheClientGoesAwayMidBody() throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    Filter f = (ex, chain) -> {
      ex.onComplete(done::countDown);
      return chain.proceed();
    };
    byte[] chunk = new byte[64 * 1024];
    try (RawUpstream upstream = RawUpstream.start(c -> {
      c.readRequest();
      c.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
      while (true) { // endless body, until the proxy gives up on the exchange
        c.write((Integer.toHexString(chunk.length) + "\r\n").getBytes());
        c.write(chunk);
        c.write("\r\n");
      }
    });
        ProxyServer proxy = TestProxy.builder().upstream(upstream.url()).addFilter(f).build().start()) {
      HttpResponse<InputStream> r = client.send(Clients.get(proxy, "/endless"), HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = r.body()) {
        assertThat(in.readNBytes(1000)).hasSize(1000);
      }
      assertThat(done.await(20, TimeUnit.SECONDS)).isTrue();
    }
  }
}
