package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.LogCapture;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Where retries go and how long they may take (issue: a hung single server made its client wait twice
 * the read timeout, and the retry went back to it). Each test counts what the upstreams received.
 */
@Timeout(60)
class RetryTargetsTest {

  /** Reads a request and never answers (until the proxy gives up and closes). */
  static RawUpstream hung() throws Exception {
    return RawUpstream.start(c -> {
      if (c.readRequest() != null) {
        c.in.read();
      }
    });
  }

  /** Resets the connection of its first request, answers {@code body} to later ones. */
  static RawUpstream resetsFirst(String body) throws Exception {
    AtomicInteger seen = new AtomicInteger();
    return RawUpstream.start(c -> {
      while (c.readRequest() != null) {
        if (seen.getAndIncrement() == 0) {
          c.reset();
          return;
        }
        c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
      }
    });
  }

  static RawUpstream answers(String body) throws Exception {
    return RawUpstream.keepAlive(body);
  }

  static RawUpstream resets() throws Exception {
    return RawUpstream.start(c -> {
      if (c.readRequest() != null) {
        c.reset();
      }
    });
  }

  /** {@code first} is chosen first (smooth weighted round robin, weights 1000 and 1). */
  static UpstreamGroup firstThen(String first, String then) {
    return UpstreamGroup.builder().add(first, 1000).add(then, 1).build();
  }

  static ProxyServer proxy(Route route) {
    return ReverseProxy.builder().addRoute(route).build().start();
  }

  @Test
  void aTimeoutOnTheOnlyServerIsFinalSoItsClientWaitsOneReadTimeout() throws Exception {
    try (RawUpstream up = hung();
        ProxyServer proxy = proxy(Route.any().readTimeout(Duration.ofMillis(300)).to(up.url()))) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/h");
      assertThat(r.statusCode()).isEqualTo(504);
      assertThat(r.body()).isEqualTo("Gateway Timeout\n");
      assertThat(up.requests).as("one try: a retry never goes back to the server that failed").hasSize(1);
    }
  }

  @Test
  void withTwoHungServersTheDefaultDeadlineEndsTheRequestAfterOneReadTimeout() throws Exception {
    try (RawUpstream a = hung(); RawUpstream b = hung();
        ProxyServer proxy = proxy(Route.any().readTimeout(Duration.ofMillis(300)).to(firstThen(a.url(), b.url())))) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/h");
      assertThat(r.statusCode()).isEqualTo(504);
      assertThat(a.requests).hasSize(1);
      assertThat(b.requests).as("the read timeout used the whole deadline: no second wait").isEmpty();
    }
  }

  @Test
  void aRetryGoesToEachServerAtMostOnce() throws Exception {
    try (RawUpstream a = resets(); RawUpstream b = resets();
        ProxyServer proxy = proxy(Route.any().retry(RetryPolicy.builder().maxRetries(5).build())
            .to(firstThen(a.url(), b.url())))) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/r");
      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).isEqualTo("Bad Gateway\n");
      assertThat(a.requests).hasSize(1);
      assertThat(b.requests).as("four retries left, but no server not tried yet").hasSize(1);
    }
  }

  @Test
  void theOnlyServerIsNotTriedAgainUnlessTheRouteAllowsIt() throws Exception {
    try (RawUpstream up = resetsFirst("second");
        ProxyServer proxy = proxy(Route.any().to(up.url()))) {
      assertThat(Backends.get(proxy.port(), "/r").statusCode()).isEqualTo(502);
      assertThat(up.requests).hasSize(1);
    }
    try (RawUpstream up = resetsFirst("second");
        ProxyServer proxy = proxy(Route.any().retry(RetryPolicy.builder().retrySameServer(true).build())
            .to(up.url()))) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/r");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("second");
      assertThat(up.requests).hasSize(2);
    }
  }

  @Test
  void theRetryLogLineNamesTheServerItRetriesOnAndTheOneThatFailed() throws Exception {
    try (RawUpstream a = resets(); RawUpstream b = answers("b");
        ProxyServer proxy = proxy(Route.any().to(firstThen(a.url(), b.url())));
        LogCapture log = new LogCapture()) {
      assertThat(Backends.get(proxy.port(), "/r").body()).isEqualTo("b");
      assertThat(log.text()).contains("retrying on 127.0.0.1:" + b.port() + " after 127.0.0.1:" + a.port()
          + " failed: upstream ");
      assertThat(log.text()).doesNotContain("retrying on another server");
    }
  }

  @Test
  void noRetryStartsAfterTheDeadlineOnTheProxyClock() throws Exception {
    TestClock clock = new TestClock();
    for (Duration deadline : new Duration[] {Duration.ofSeconds(1), Duration.ofSeconds(5)}) {
      // the first server takes two seconds of the clock, then resets the connection
      try (RawUpstream a = RawUpstream.start(c -> {
            if (c.readRequest() != null) {
              clock.advance(Duration.ofSeconds(2));
              c.reset();
            }
          });
          RawUpstream b = answers("b");
          ProxyServer proxy = ReverseProxy.builder().clock(clock)
              .addRoute(Route.any().retry(RetryPolicy.builder().deadline(deadline).build())
                  .to(firstThen(a.url(), b.url()))).build().start()) {
        HttpResponse<String> r = Backends.get(proxy.port(), "/d");
        if (deadline.getSeconds() == 1) {
          assertThat(r.statusCode()).as("deadline 1 s, 2 s gone").isEqualTo(502);
          assertThat(b.requests).isEmpty();
        } else {
          assertThat(r.statusCode()).as("deadline 5 s, 2 s gone").isEqualTo(200);
          assertThat(b.requests).hasSize(1);
        }
        assertThat(a.requests).hasSize(1);
      }
    }
  }

  @Test
  void aRetryWaitsForItsResponseOnlyForWhatIsLeftOfTheDeadline() throws Exception {
    // without the deadline the hung server would hold the retry for the 30 s read timeout, past the
    // client's own 10 s timeout
    try (RawUpstream b = hung();
        ProxyServer proxy = proxy(Route.any().readTimeout(Duration.ofSeconds(30))
            .retry(RetryPolicy.builder().deadline(Duration.ofMillis(400)).build())
            .to(firstThen("http://127.0.0.1:" + Backends.closedPort(), b.url())))) {
      HttpResponse<String> r = Backends.get(proxy.port(), "/d");
      assertThat(r.statusCode()).isEqualTo(504);
      assertThat(b.requests).hasSize(1);
    }
  }

  @Test
  void retrySettingsAreValidated() {
    assertThatThrownBy(() -> RetryPolicy.builder().deadline(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("retry.deadline: PT0S (expected: > 0)");
    assertThatThrownBy(() -> RetryPolicy.builder().deadline(null))
        .isInstanceOf(NullPointerException.class).hasMessage("retry.deadline");
    assertThat(RetryPolicy.defaults().retrySameServer()).isFalse();
    assertThat(RetryPolicy.defaults().deadline()).isNull();
    assertThat(RetryPolicy.builder().retrySameServer(true).deadline(Duration.ofSeconds(2)).build())
        .hasToString("RetryPolicy(maxRetries 1, status [], budget 0.2 + 3/s, deadline PT2S, same server allowed)");
  }
}
