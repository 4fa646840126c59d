package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.internal.h2.HeaderBlocks;
import dev.gatehouse.proxy.testsupport.RawH2Server;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An HTTP/2 upstream's response head whose block ends in a CONTINUATION frame of a later read than its
 * HEADERS frame. The upstream writes the CONTINUATION only once the proxy has read the HEADERS frame on its
 * own and waits for the rest (the hook): the split Undertow 2.4 mishandles (the response handed on with half
 * its fields, and a bodiless one never ended: the client waited for the read timeout), made deterministic.
 */
@Timeout(30)
class Http2UpstreamHeaderBlockTest {
  private final CountDownLatch waiting = new CountDownLatch(1);

  @AfterEach
  void noHook() {
    HeaderBlocks.waitingHook = null;
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "the body"})
  void aResponseHeadWhoseBlockEndsInALaterReadIsForwardedWholeAndEnds(String body) throws Exception {
    HeaderBlocks.waitingHook = waiting::countDown;
    try (RawH2Server up = new RawH2Server();
         ProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().retry(RetryPolicy.none())
             .to(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())).build().start()) {
      CompletableFuture<HttpResponse<String>> f = Backends.CLIENT.sendAsync(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/x")).build(),
          HttpResponse.BodyHandlers.ofString());
      RawH2Server.Request r = up.next();
      r.conn().respondWithSplitHead(r.stream(), body.isEmpty() ? null : body,
          () -> assertThat(waiting.await(10, TimeUnit.SECONDS)).as("the proxy waits for the rest of the head").isTrue());
      HttpResponse<String> resp = f.get(10, TimeUnit.SECONDS);
      assertThat(resp.statusCode()).isEqualTo(200);
      assertThat(resp.headers().firstValue("x-a")).as("the field of the CONTINUATION frame").hasValue("1");
      assertThat(resp.body()).isEqualTo(body);
    }
  }

  @Test
  void undertowsInternalsAreReachable() {
    assertThat(HeaderBlocks.available()).isTrue();
  }
}
