package dev.gatehouse.proxy.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testing.FilterHarness;
import dev.gatehouse.proxy.testing.TestRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The example's filters, tested in memory with the filter harness: no socket, no thread of our own. */
@Timeout(30)
class CustomFilterExampleTest {

  @Test
  void theRequestIdIsAddedOnTheWayInAndEchoedOnTheWayOut() {
    FilterHarness.Result r = FilterHarness.of(new CustomFilterExample.RequestIdFilter())
        .request(TestRequest.GET("/orders"))
        .upstreamReplies(200, "[]")
        .run();

    String id = r.upstreamRequest().orElseThrow().header("X-Request-Id").orElseThrow();
    assertThat(id).matches("[0-9a-f-]{36}");
    assertThat(r.response().header("X-Request-Id")).hasValue(id);
    assertThat(r.response().bodyText()).isEqualTo("[]");
  }

  @Test
  void aRequestIdTheClientSentIsKept() {
    FilterHarness.Result r = FilterHarness.of(new CustomFilterExample.RequestIdFilter())
        .request(TestRequest.GET("/orders").header("X-Request-Id", "abc-1"))
        .run();

    assertThat(r.upstreamRequest().orElseThrow().header("X-Request-Id")).hasValue("abc-1");
    assertThat(r.response().header("X-Request-Id")).hasValue("abc-1");
  }

  @Test
  void aMissingApiKeyIsAnsweredWithoutContactingTheUpstream() {
    FilterHarness.Result r = FilterHarness.of(CustomFilterExample.API_KEY).request(TestRequest.GET("/orders")).run();

    assertThat(r.response().status()).isEqualTo(401);
    assertThat(r.response().bodyText()).isEqualTo("missing X-Api-Key\n");
    assertThat(r.upstreamCalled()).isFalse();
  }

  @Test
  void aKnownKeyIsLookedUpOnTheBlockingExecutorAndTheUserForwarded() {
    FilterHarness.Result r = FilterHarness.of(CustomFilterExample.API_KEY, CustomFilterExample.USER_LOOKUP)
        .request(TestRequest.GET("/orders").header("X-Api-Key", "k-alice"))
        .upstreamReplies(200, "alice's orders")
        .run();

    assertThat(r.upstreamRequest().orElseThrow().header("X-User")).hasValue("alice");
    assertThat(r.attribute(CustomFilterExample.USER)).hasValue("alice");
    assertThat(r.response().bodyText()).isEqualTo("alice's orders");
  }

  @Test
  void anUnknownKeyIsRefusedWithoutContactingTheUpstream() {
    FilterHarness.Result r = FilterHarness.of(CustomFilterExample.API_KEY, CustomFilterExample.USER_LOOKUP)
        .request(TestRequest.GET("/orders").header("X-Api-Key", "k-mallory"))
        .run();

    assertThat(r.response().status()).isEqualTo(403);
    assertThat(r.response().bodyText()).isEqualTo("unknown key\n");
    assertThat(r.upstreamCalled()).isFalse();
  }

  @Test
  void theWholeChainOfTheExampleInItsOrder() {
    FilterHarness.Result r = FilterHarness.of(new CustomFilterExample.RequestIdFilter(), CustomFilterExample.API_KEY,
            CustomFilterExample.USER_LOOKUP)
        .request(TestRequest.GET("/orders"))
        .run();

    // the short-circuit's answer still gets the request id on its way out
    assertThat(r.response().status()).isEqualTo(401);
    assertThat(r.response().header("X-Request-Id")).isPresent();
  }
}
