package dev.gatehouse.proxy;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.LogCapture;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(30)
class FilterChainTest {
  @RegisterExtension
  static WireMockExtension upstream = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

  private final HttpClient client = Clients.http();

  @Test
  void filtersRunInRegistrationOrderAndResponsesUnwindInReverse() throws Exception {
    upstream.stubFor(get("/order").willReturn(ok("x")));
    List<String> events = new CopyOnWriteArrayList<>();
    Filter a = (ex, chain) -> {
      events.add("a-request");
      ex.request().headers().add("X-Trail", "a");
      return chain.proceed().thenApply(r -> {
        events.add("a-response");
        r.headers().add("X-Trail", "a");
        return r;
      });
    };
    Filter b = (ex, chain) -> {
      events.add("b-request");
      ex.request().headers().add("X-Trail", "b");
      return chain.proceed().thenApply(r -> {
        events.add("b-response");
        r.headers().add("X-Trail", "b");
        return r;
      });
    };
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(a).addFilter(b).build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/order"), HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(events).containsExactly("a-request", "b-request", "b-response", "a-response");
      assertThat(response.headers().allValues("X-Trail")).containsExactly("b", "a");
      upstream.verify(getRequestedFor(urlEqualTo("/order")).withHeader("X-Trail", equalTo("a")));
      assertThat(upstream.getAllServeEvents().get(0).getRequest().getHeaders().getHeader("X-Trail").values())
          .containsExactly("a", "b");
    }
  }

  @Test
  void filterCanShortCircuitWithoutContactingUpstream() throws Exception {
    Filter apiKey = (ex, chain) -> ex.request().headers().contains("X-Api-Key")
        ? chain.proceed()
        : CompletableFuture.completedStage(ProxyResponse.of(401, "missing X-Api-Key"));
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(apiKey).build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/secret"), HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(401);
      assertThat(response.body()).isEqualTo("missing X-Api-Key");
      assertThat(response.headers().firstValue("Content-Type")).hasValue("text/plain; charset=utf-8");
      assertThat(response.headers().firstValue("Content-Length")).hasValue("17");
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void filterCanDoBlockingWorkOnTheBlockingExecutorAndTheChainReturnsToTheIoThread() throws Exception {
    upstream.stubFor(get("/lookup").willReturn(ok("found")));
    List<String> threads = new CopyOnWriteArrayList<>();
    Filter lookup = (ex, chain) -> {
      threads.add(Thread.currentThread().getName());
      return CompletableFuture.supplyAsync(() -> {
        threads.add(Thread.currentThread().getName());
        return "user-42"; // a blocking lookup would go here
      }, ex.blockingExecutor()).thenCompose(user -> {
        ex.request().headers().set("X-User", user);
        return chain.proceed();
      });
    };
    Filter after = (ex, chain) -> {
      threads.add(Thread.currentThread().getName());
      return chain.proceed();
    };
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(lookup).addFilter(after).build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/lookup"), HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo("found");
      assertThat(threads).hasSize(3);
      assertThat(threads.get(0)).contains("I/O");
      assertThat(threads.get(1)).doesNotContain("I/O");
      assertThat(threads.get(2)).isEqualTo(threads.get(0));
      upstream.verify(getRequestedFor(urlEqualTo("/lookup")).withHeader("X-User", equalTo("user-42")));
    }
  }

  @Test
  void filterReturningNullGives500() throws Exception {
    Filter broken = (ex, chain) -> null;
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(broken).build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/x"), HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(500);
      assertThat(response.body()).isEqualTo("Internal Server Error\n");
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void filterCallingProceedTwiceGives500() throws Exception {
    upstream.stubFor(get("/twice").willReturn(ok("x")));
    Filter twice = (ex, chain) -> {
      chain.proceed();
      return chain.proceed();
    };
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(twice).build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/twice"), HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(500);
    }
  }

  @Test
  void filterThatThrowsGives500WithoutStackTrace() throws Exception {
    Filter thrower = (ex, chain) -> {
      throw new IllegalStateException("boom at com.example.Secret");
    };
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(thrower).build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/x"), HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(500);
      assertThat(response.body()).doesNotContain("boom").doesNotContain("Exception");
    }
  }

  @Test
  void errorHandlerMapsFailures() throws Exception {
    Filter thrower = (ex, chain) -> CompletableFuture.failedStage(new IllegalArgumentException("teapot"));
    ErrorHandler handler = (ex, error, during) -> ProxyResponse.of(418, "mapped: " + error.getMessage());
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(thrower)
        .errorHandler(handler).build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/x"), HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(418);
      assertThat(response.body()).isEqualTo("mapped: teapot");
    }
  }

  @Test
  void filtersCanChangeMethodPathQueryAndStatus() throws Exception {
    upstream.stubFor(com.github.tomakehurst.wiremock.client.WireMock.put(urlEqualTo("/v2/items?page=2"))
        .willReturn(aResponse().withStatus(201).withHeader("X-Up", "1")));
    Filter rewrite = (ex, chain) -> {
      ex.request().method("PUT").path("/v2/items").query("page=2");
      return chain.proceed().thenApply(r -> r.status(202));
    };
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(rewrite).build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/items"), HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(202);
      assertThat(response.headers().firstValue("X-Up")).hasValue("1");
    }
  }

  @Test
  void attributesAreSharedBetweenFilters() throws Exception {
    upstream.stubFor(get("/attr").willReturn(ok()));
    AttributeKey<String> user = AttributeKey.of("user");
    Filter set = (ex, chain) -> {
      ex.attribute(user, "alice");
      return chain.proceed();
    };
    Filter read = (ex, chain) -> chain.proceed().thenApply(r -> {
      r.headers().set("X-User", ex.attribute(user).orElse("none"));
      return r;
    });
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(set).addFilter(read).build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/attr"), HttpResponse.BodyHandlers.ofString());

      assertThat(response.headers().firstValue("X-User")).hasValue("alice");
    }
  }

  @Test
  void responseFilterCanReplaceTheUpstreamResponse() throws Exception {
    upstream.stubFor(get("/replace").willReturn(aResponse().withStatus(500).withBody("internal details")));
    Filter mask = (ex, chain) -> chain.proceed().thenApply(r -> r.status() >= 500 ? ProxyResponse.of(503, "try later") : r);
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl()).addFilter(mask).build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/replace"), HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> again = client.send(Clients.get(proxy, "/replace"), HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(503);
      assertThat(response.body()).isEqualTo("try later");
      assertThat(again.statusCode()).isEqualTo(503);
    }
  }

  /** A filter that spins (no sleep: the I/O thread is busy, as with real blocking work) before proceeding. */
  private static Filter named(String name, long spinMillis) {
    return named(name, (ex, chain) -> {
      long until = System.nanoTime() + spinMillis * 1_000_000L;
      while (System.nanoTime() < until) {
        Thread.onSpinWait();
      }
      return chain.proceed();
    });
  }

  /** {@code body} under {@code name}, the name the slow-filter check logs. */
  private static Filter named(String name, Filter body) {
    return new Filter() {
      @Override
      public java.util.concurrent.CompletionStage<ProxyResponse> filter(ProxyExchange ex, Chain chain) {
        return body.filter(ex, chain);
      }

      @Override
      public String toString() {
        return name;
      }
    };
  }

  @Test
  void aSlowChainIsLoggedThenItsSlowFilterIsNamedWithItsOwnTimeAndTheFiltersAroundItAreNot() throws Exception {
    upstream.stubFor(get("/slow").willReturn(ok("x")));
    // "hop" proceeds from another thread: the rest of the chain resumes on the I/O thread, and its
    // filters' time is counted from there, not from some earlier clock reading
    Filter hop = named("hop",
        (ex, chain) -> CompletableFuture.supplyAsync(() -> "off the I/O thread").thenCompose(x -> chain.proceed()));
    try (LogCapture log = new LogCapture();
        ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl())
            .slowFilterThreshold(java.time.Duration.ofMillis(150))
            .addFilter(named("outer", 0)).addFilter(named("spinner", 400)).addFilter(hop).addFilter(named("after-hop", 0))
            .build().start()) {
      // the first slow run is timed as a whole: it names the filters it ran (up to the hop, unless the hop
      // came back before it returned and the run went on)
      HttpResponse<String> response = client.send(Clients.get(proxy, "/slow"), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(log.text()).containsPattern("filters \\[outer, spinner, hop(, after-hop)?\\] held I/O thread ")
          .contains("each filter is timed on the next 1000 runs").doesNotContain("filter spinner ran ");

      // the runs after it time each filter on its own: the one that blocks is named
      response = client.send(Clients.get(proxy, "/slow"), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(log.text()).contains("filter spinner ran ").contains("move blocking work to exchange.blockingExecutor()");
      // "outer" waited 400 ms inside proceed(), but that time is the spinner's
      assertThat(log.text()).doesNotContain("filter outer ran").doesNotContain("filter hop ran")
          .doesNotContain("filter after-hop ran");
    }
  }

  @Test
  void aProceedCalledLaterOnTheIoThreadStartsARunOfItsOwnAndIsChecked() throws Exception {
    upstream.stubFor(get("/later").willReturn(ok("x")));
    // "later" returns first and proceeds afterwards from a task on the exchange's own I/O thread: the rest
    // of the chain runs then, outside the run that "later" was part of, and is checked as a run of its own
    Filter later = named("later", (ex, chain) -> CompletableFuture.supplyAsync(() -> "on the I/O thread, later",
        ((dev.gatehouse.proxy.internal.exchange.ChainContext) ex)::executeOnIoThread).thenCompose(x -> chain.proceed()));
    try (LogCapture log = new LogCapture();
        ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl())
            .slowFilterThreshold(java.time.Duration.ofMillis(150))
            .addFilter(later).addFilter(named("spinner", 400))
            .build().start()) {
      HttpResponse<String> response = client.send(Clients.get(proxy, "/later"), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(log.text()).contains("filters [spinner] held I/O thread ");
      response = client.send(Clients.get(proxy, "/later"), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(log.text()).contains("filter spinner ran ").doesNotContain("filter later ran");
    }
  }
}
