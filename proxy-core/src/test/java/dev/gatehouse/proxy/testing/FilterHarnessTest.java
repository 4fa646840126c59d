package dev.gatehouse.proxy.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.events.Decisions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class FilterHarnessTest {
  static final AttributeKey<String> USER = AttributeKey.of("user");

  @Test
  void aPassThroughFilterShowsWhatTheUpstreamGotAndWhatTheClientGets() {
    FilterHarness.Result r = FilterHarness.of((ex, chain) -> chain.proceed())
        .request(TestRequest.POST("/orders?x=1", "{}").header("Content-Type", "application/json").authority("shop.test"))
        .upstreamReplies(TestResponse.of(201, "created").header("Location", "/orders/7"))
        .run();

    assertThat(r.upstreamCalled()).isTrue();
    FilterHarness.UpstreamRequest u = r.upstreamRequest().orElseThrow();
    assertThat(u.method()).isEqualTo("POST");
    assertThat(u.pathAndQuery()).isEqualTo("/orders?x=1");
    assertThat(u.authority()).isEqualTo("shop.test");
    assertThat(u.header("content-type")).hasValue("application/json");
    assertThat(u.bodyText()).isEqualTo("{}");
    assertThat(r.response().status()).isEqualTo(201);
    assertThat(r.response().header("Location")).hasValue("/orders/7");
    assertThat(r.response().bodyText()).isEqualTo("created");
    assertThat(r.response().fromUpstream()).isTrue();
    assertThat(r.error()).isEmpty();
  }

  @Test
  void theUpstreamCanAnswerByRequestAndFailLikeARealOne() {
    FilterHarness h = FilterHarness.of((ex, chain) -> chain.proceed())
        .upstream(req -> TestResponse.of(200, "you asked for " + req.path()));
    assertThat(h.request(TestRequest.GET("/a")).run().response().bodyText()).isEqualTo("you asked for /a");

    FilterHarness.Result timedOut = h.upstreamFails(new UpstreamTimeoutException("slow")).run();
    assertThat(timedOut.response().status()).isEqualTo(504);
    assertThat(timedOut.response().bodyText()).isEqualTo("Gateway Timeout\n");
    assertThat(timedOut.error()).containsInstanceOf(UpstreamTimeoutException.class);
    assertThat(h.upstreamFails(new UpstreamConnectException("refused", null)).run().response().status())
        .isEqualTo(502);
  }

  @Test
  void attributesAndDecisionsAreVisibleAfterTheRun() {
    Filter auth = (ex, chain) -> {
      ex.attribute(USER, "alice");
      Decisions.report(ex, Decisions.AUTH, "allowed", "");
      Decisions.report(ex, Decisions.RATE_LIMIT, "allowed", "bucket 127.0.0.1");
      return chain.proceed();
    };

    FilterHarness.Result r = FilterHarness.of(auth).run();

    assertThat(r.attribute(USER)).hasValue("alice");
    assertThat(r.decisions()).containsExactly("auth allowed", "rate-limit allowed bucket 127.0.0.1");
  }

  @Test
  void aStageNobodyCompletesFailsTheRunAfterItsTimeout() {
    FilterHarness h = FilterHarness.of((ex, chain) -> new CompletableFuture<>()).timeout(Duration.ofMillis(100));

    assertThatThrownBy(h::run).isInstanceOf(IllegalStateException.class)
        .hasMessage("the filter chain did not complete within PT0.1S (expected: every filter returns "
            + "chain.proceed() or a response, and completes its stage)");
  }

  @Test
  void blockingWorkRunsOffTheIoThreadAndTheChainHopsBack() {
    AtomicReference<String> workThread = new AtomicReference<>();
    AtomicReference<String> responseThread = new AtomicReference<>();
    Filter lookup = (ex, chain) -> CompletableFuture.supplyAsync(() -> {
      workThread.set(Thread.currentThread().getName());
      return "bob";
    }, ex.blockingExecutor()).thenCompose(user -> {
      ex.request().headers().set("X-User", user);
      return chain.proceed();
    }).thenApply(r -> {
      responseThread.set(Thread.currentThread().getName());
      return r;
    });

    FilterHarness.Result r = FilterHarness.of(lookup).run();

    assertThat(r.upstreamRequest().orElseThrow().header("X-User")).hasValue("bob");
    assertThat(workThread.get()).isEqualTo(Thread.currentThread().getName()); // no thread of its own
    assertThat(responseThread.get()).isEqualTo(Thread.currentThread().getName());
  }

  @Test
  void aHeadResponseHasNoBodyAndAShortCircuitKeepsItsStatusAndFields() {
    FilterHarness.Result head = FilterHarness.of((ex, chain) -> chain.proceed())
        .request(TestRequest.of("HEAD", "/")).upstreamReplies(200, "body").run();
    assertThat(head.response().body()).isEmpty();

    FilterHarness.Result r = FilterHarness.of((ex, chain) -> {
      ProxyResponse own = ProxyResponse.of(204);
      own.headers().set("X-Own", "1");
      return ex.respond(own);
    }).run();
    assertThat(r.response().status()).isEqualTo(204);
    assertThat(r.response().header("X-Own")).hasValue("1");
    assertThat(r.upstreamCalled()).isFalse();
  }

  @Test
  void aFilterShortCircuitsWithOneCall() {
    FilterHarness.Result r = FilterHarness.of((ex, chain) -> ex.request().headers().contains("X-Key")
        ? chain.proceed() : ex.respond(401, "missing key")).run();
    assertThat(r.response().status()).isEqualTo(401);
    assertThat(r.response().bodyText()).isEqualTo("missing key");
    assertThat(r.response().header("Content-Type")).hasValue("text/plain; charset=utf-8");
    assertThat(r.upstreamCalled()).isFalse();
  }

  @Test
  void eachRunIsAFreshExchange() {
    FilterHarness h = FilterHarness.of((ex, chain) -> {
      boolean seen = ex.attribute(USER).isPresent();
      ex.attribute(USER, "x");
      return seen ? CompletableFuture.completedStage(ProxyResponse.of(409, "reused")) : chain.proceed();
    });

    assertThat(h.run().response().status()).isEqualTo(200);
    assertThat(h.run().response().status()).isEqualTo(200);
  }

  @Test
  void requestsAndOptionsAreCheckedAtOnce() {
    assertThatThrownBy(() -> TestRequest.GET("x")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("pathAndQuery: \"x\" (expected: starts with /, percent-encoded, without whitespace, controls or #)");
    assertThatThrownBy(() -> TestRequest.of("G T", "/")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("method: \"G T\" (expected: an RFC 9110 token such as GET)");
    assertThatThrownBy(() -> TestRequest.GET("/").header("X-A", "a\r\nb")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("header X-A: value contains CR, LF or NUL (expected: visible characters, space and tab)");
    assertThatThrownBy(() -> TestRequest.GET("/").from("host")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ip: \"host\" (expected: an IPv4 or IPv6 address)");
    assertThatThrownBy(() -> TestResponse.of(99, "")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("status: 99 (expected: 200-599)");
    assertThatThrownBy(() -> FilterHarness.of().timeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeout: PT0S (expected: > 0)");
    assertThatThrownBy(() -> FilterHarness.of((Filter) null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void theClientAddressAndTlsAreWhatTheRequestSays() {
    AtomicReference<String> seen = new AtomicReference<>();
    FilterHarness.of((ex, chain) -> {
      seen.set(ex.realClientIp() + " " + ex.isSecure() + " " + ex.request().scheme() + " " + ex.request().protocol());
      return chain.proceed();
    }).request(TestRequest.GET("/").from("203.0.113.9").secure(true).protocol("HTTP/2.0")).run();

    assertThat(seen.get()).isEqualTo("203.0.113.9 true https HTTP/2.0");
  }
}
