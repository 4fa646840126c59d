package dev.gatehouse.proxy.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.auth.Principal;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class RateLimitTest {
  private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2027-01-01T00:00:00Z"));
  private final InstantSource clock = () -> now.get();
  private final HttpClient client = Clients.http();
  private RawUpstream upstream;

  @BeforeEach
  void start() throws IOException {
    upstream = RawUpstream.keepAlive("ok");
  }

  @AfterEach
  void stop() throws IOException {
    upstream.close();
  }

  private ProxyServer proxy(Filter... filters) {
    TestProxy b = TestProxy.builder().upstream(upstream.url());
    for (Filter f : filters) {
      b.addFilter(f);
    }
    return b.build().start();
  }

  private HttpResponse<String> send(ProxyServer proxy, String... headers) throws Exception {
    HttpRequest.Builder b = Clients.request(proxy, "/api").GET();
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private void advance(Duration d) {
    now.set(now.get().plus(d));
  }

  @Test
  void aBurstIsAllowedThenRequestsAreRefusedWith429RetryAfterAndTheIetfFields() throws Exception {
    RateLimit limit = RateLimit.builder().limit(Limit.perMinute(3)).clock(clock).build();
    try (ProxyServer proxy = proxy(limit)) {
      for (int i = 2; i >= 0; i--) {
        HttpResponse<String> r = send(proxy);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("RateLimit-Policy")).hasValue("\"3-per-60s\";q=3;w=60");
        assertThat(r.headers().firstValue("RateLimit")).hasValue("\"3-per-60s\";r=" + i + ";t=" + (20 * (3 - i)));
      }
      HttpResponse<String> refused = send(proxy);
      assertThat(refused.statusCode()).isEqualTo(429);
      assertThat(refused.body()).isEqualTo("Too Many Requests\n");
      assertThat(refused.headers().firstValue("Retry-After")).hasValue("20");
      assertThat(refused.headers().firstValue("RateLimit")).hasValue("\"3-per-60s\";r=0;t=60");
      assertThat(upstream.requests).hasSize(3);

      advance(Duration.ofSeconds(19));
      assertThat(send(proxy).statusCode()).isEqualTo(429);
      advance(Duration.ofSeconds(1));
      assertThat(send(proxy).statusCode()).isEqualTo(200);
      assertThat(upstream.requests).hasSize(4);
    }
  }

  @Test
  void everyLimitMustAllowARequestAndARefusedRequestCostsNothing() throws Exception {
    RateLimit limit = RateLimit.builder()
        .limit(Limit.perSecond(2))
        .limit(Limit.perHour(5).name("hourly"))
        .clock(clock).build();
    try (ProxyServer proxy = proxy(limit)) {
      int allowed = 0;
      for (int second = 0; second < 5; second++) {
        for (int i = 0; i < 3; i++) {
          if (send(proxy).statusCode() == 200) {
            allowed++;
          }
        }
        advance(Duration.ofSeconds(1));
      }
      assertThat(allowed).isEqualTo(5); // the hourly limit, though per second would allow 10
      HttpResponse<String> r = send(proxy);
      assertThat(r.statusCode()).isEqualTo(429);
      assertThat(r.headers().firstValue("RateLimit-Policy")).hasValue("\"2-per-1s\";q=2;w=1, \"hourly\";q=5;w=3600");
      assertThat(r.headers().firstValue("Retry-After").map(Long::parseLong).orElseThrow()).isGreaterThan(600);
      assertThat(upstream.requests).hasSize(5);
    }
  }

  @Test
  void keysAreCountedApartAndANullKeyIsNotLimited() throws Exception {
    RateLimit limit = RateLimit.builder().key(RateLimitKey.header("X-Consumer")).limit(Limit.perMinute(1)).clock(clock).build();
    try (ProxyServer proxy = proxy(limit)) {
      assertThat(send(proxy, "X-Consumer", "a").statusCode()).isEqualTo(200);
      assertThat(send(proxy, "X-Consumer", "a").statusCode()).isEqualTo(429);
      assertThat(send(proxy, "X-Consumer", "b").statusCode()).isEqualTo(200);
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> anonymous = send(proxy);
        assertThat(anonymous.statusCode()).isEqualTo(200);
        assertThat(anonymous.headers().firstValue("RateLimit")).isEmpty();
      }
    }
  }

  @Test
  void principalsAreKeyedByTheirNameAndAnonymousRequestsByTheirAddress() throws Exception {
    Filter login = (ex, chain) -> {
      ex.request().headers().get("X-User").ifPresent(u -> ex.attribute(Principal.ATTRIBUTE, Principal.of(u, "test")));
      return chain.proceed();
    };
    RateLimit limit = RateLimit.builder().key(RateLimitKey.principalOrClientIp()).limit(Limit.perMinute(1)).clock(clock).build();
    try (ProxyServer proxy = proxy(login, limit)) {
      assertThat(send(proxy, "X-User", "alice").statusCode()).isEqualTo(200);
      assertThat(send(proxy, "X-User", "bob").statusCode()).isEqualTo(200);
      assertThat(send(proxy, "X-User", "alice").statusCode()).isEqualTo(429);
      assertThat(send(proxy).statusCode()).isEqualTo(200);
      assertThat(send(proxy).statusCode()).isEqualTo(429);
    }
  }

  @Test
  void tenThousandDistinctKeysStayWithinTheMaximumAndIdleKeysExpire() throws Exception {
    InMemoryRateLimitStore store = (InMemoryRateLimitStore) RateLimitStore.inMemory(1000, clock);
    RateLimit limit = RateLimit.builder().key(RateLimitKey.header("X-Key")).limit(Limit.perMinute(10)).store(store)
        .clock(clock).build();
    HttpClient[] clients = {Clients.http(), Clients.http(), Clients.http(), Clients.http()};
    try (ProxyServer proxy = proxy(limit)) {
      AtomicInteger next = new AtomicInteger();
      List<CompletableFuture<Void>> workers = new ArrayList<>();
      for (HttpClient c : clients) {
        workers.add(CompletableFuture.runAsync(() -> {
          int i;
          while ((i = next.getAndIncrement()) < 10_000) {
            try {
              HttpResponse<String> r = c.send(Clients.request(proxy, "/k").header("X-Key", "client-" + i).GET().build(),
                  HttpResponse.BodyHandlers.ofString());
              assertThat(r.statusCode()).isEqualTo(200);
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          }
        }));
      }
      CompletableFuture.allOf(workers.toArray(new CompletableFuture<?>[0])).get(50, TimeUnit.SECONDS);
      assertThat(store.size()).isBetween(1L, 1000L);

      advance(Duration.ofSeconds(61)); // a key's whole burst has come back: its state is fresh, so it goes
      assertThat(store.size()).isZero();
    }
  }

  @Test
  void theConcurrencyLimitCountsRequestsUntilTheirResponsesAreSent() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger arrived = new AtomicInteger();
    try (RawUpstream slow = RawUpstream.start(c -> {
      RawUpstream.Request r;
      while ((r = c.readRequest()) != null) {
        arrived.incrementAndGet();
        if (r.requestLine.contains("/slow")) {
          release.await(20, TimeUnit.SECONDS);
        }
        c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    })) {
      RateLimit limit = RateLimit.builder().maxConcurrent(2).build();
      try (ProxyServer proxy = TestProxy.builder().upstream(slow.url()).addFilter(limit).build().start()) {
        List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
          inFlight.add(Clients.http().sendAsync(Clients.get(proxy, "/slow"), HttpResponse.BodyHandlers.ofString()));
        }
        while (arrived.get() < 2) {
          Thread.onSpinWait(); // both requests reach the upstream (bounded by @Timeout)
        }
        HttpResponse<String> third = send(proxy);
        assertThat(third.statusCode()).isEqualTo(429);
        assertThat(third.headers().firstValue("RateLimit-Policy")).hasValue("\"concurrency\";q=2;qu=\"concurrent-requests\"");
        assertThat(third.headers().firstValue("RateLimit")).hasValue("\"concurrency\";r=0");
        release.countDown();
        for (CompletableFuture<HttpResponse<String>> f : inFlight) {
          assertThat(f.get().statusCode()).isEqualTo(200);
        }
        HttpResponse<String> after = send(proxy);
        for (int i = 0; i < 100 && after.statusCode() == 429; i++) {
          after = send(proxy); // the slots come back once the exchanges have completed
        }
        assertThat(after.statusCode()).isEqualTo(200);
        assertThat(after.headers().firstValue("RateLimit")).hasValue("\"concurrency\";r=1");
        assertThat(arrived.get()).isEqualTo(3);
      }
      for (int i = 0; i < 100 && limit.keysInFlight() > 0; i++) {
        Thread.onSpinWait();
      }
      assertThat(limit.keysInFlight()).isZero();
    }
  }

  @Test
  void shadowModeRefusesNothingButCountsWhatItWouldHaveRefused() throws Exception {
    List<RateLimit.Outcome> outcomes = new ArrayList<>();
    RateLimit limit = RateLimit.builder().limit(Limit.perMinute(2)).shadowMode(true).clock(clock).build();
    Filter record = (ex, chain) -> chain.proceed().thenApply(r -> {
      outcomes.add(ex.attribute(RateLimit.OUTCOME).orElseThrow());
      return r;
    });
    try (ProxyServer proxy = proxy(record, limit)) {
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> r = send(proxy);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("RateLimit")).isEmpty();
      }
      assertThat(upstream.requests).hasSize(5);
      assertThat(limit.shadowLimited()).isEqualTo(3);
      assertThat(outcomes).containsExactly(RateLimit.Outcome.ALLOWED, RateLimit.Outcome.ALLOWED,
          RateLimit.Outcome.SHADOW_LIMITED, RateLimit.Outcome.SHADOW_LIMITED, RateLimit.Outcome.SHADOW_LIMITED);
    }
  }

  @Test
  void aStoreIsAskedOnceAtomicallyPerRequestAndItsFailureFailsOpenOrClosed() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    RateLimitStore broken = (key, limits, t) -> {
      calls.incrementAndGet();
      return CompletableFuture.failedFuture(new IOException("redis down"));
    };
    try (ProxyServer proxy = proxy(RateLimit.builder().limit(Limit.perSecond(1)).store(broken).build())) {
      assertThat(send(proxy).statusCode()).isEqualTo(200);
      assertThat(calls.get()).isEqualTo(1);
    }
    try (ProxyServer proxy = proxy(RateLimit.builder().limit(Limit.perSecond(1)).store(broken).failOpen(false).build())) {
      assertThat(send(proxy).statusCode()).isEqualTo(503);
      assertThat(calls.get()).isEqualTo(2);
      assertThat(upstream.requests).hasSize(1);
    }
    List<String> keys = new ArrayList<>();
    RateLimitStore remote = (key, limits, t) -> {
      keys.add(key + " " + limits.size());
      return CompletableFuture.supplyAsync(() -> RateLimitDecision.denied(new long[] {0}, new long[] {2_500_000_000L}, 1_200_000_000L));
    };
    try (ProxyServer proxy = proxy(RateLimit.builder().name("orders").limit(Limit.perSecond(1)).store(remote).build())) {
      HttpResponse<String> r = send(proxy);
      assertThat(r.statusCode()).isEqualTo(429);
      assertThat(r.headers().firstValue("Retry-After")).hasValue("2");
      assertThat(r.headers().firstValue("RateLimit")).hasValue("\"1-per-1s\";r=0;t=3");
      assertThat(keys).containsExactly("orders|127.0.0.1 1");
    }
  }

  @Test
  void aStoreThatCompletesWithNothingIsAFailureNotAnAnswer() throws Exception {
    RateLimitStore empty = (key, limits, t) -> CompletableFuture.completedFuture(null);
    try (ProxyServer proxy = proxy(RateLimit.builder().limit(Limit.perSecond(1)).store(empty).failOpen(false).build())) {
      assertThat(send(proxy).statusCode()).isEqualTo(503);
      assertThat(upstream.requests).isEmpty();
    }
    try (ProxyServer proxy = proxy(RateLimit.builder().limit(Limit.perSecond(1)).store(empty).build())) {
      assertThat(send(proxy).statusCode()).isEqualTo(200);
      assertThat(upstream.requests).hasSize(1);
    }
    RateLimitStore later = (key, limits, t) -> CompletableFuture.supplyAsync(() -> null);
    try (ProxyServer proxy = proxy(RateLimit.builder().limit(Limit.perSecond(1)).store(later).failOpen(false).build())) {
      assertThat(send(proxy).statusCode()).isEqualTo(503);
      assertThat(upstream.requests).hasSize(1);
    }
  }

  @Test
  void veryLongKeysAreHashed() throws Exception {
    List<String> keys = new ArrayList<>();
    RateLimitStore spy = (key, limits, t) -> {
      keys.add(key);
      return CompletableFuture.completedFuture(RateLimitDecision.allowed(new long[] {1}, new long[] {0}));
    };
    try (ProxyServer proxy = proxy(RateLimit.builder().name("n").key(RateLimitKey.header("X-K")).limit(Limit.perSecond(5))
        .store(spy).build())) {
      send(proxy, "X-K", "x".repeat(5000));
      assertThat(keys.get(0)).startsWith("n|sha256:").hasSize(2 + 7 + 64);
    }
  }

  @Test
  void builderMisuseFailsWithClearMessages() {
    assertThatThrownBy(() -> RateLimit.builder().build()).hasMessage("limits: none (expected: at least one limit or maxConcurrent)");
    assertThatThrownBy(() -> Limit.of(0, Duration.ofSeconds(1))).hasMessage("count: 0 (expected: > 0)");
    assertThatThrownBy(() -> Limit.of(1, Duration.ZERO)).hasMessage("period: PT0S (expected: 1 ms to 366 days)");
    assertThatThrownBy(() -> Limit.perSecond(1).burst(0)).hasMessage("burst: 0 (expected: > 0)");
    assertThatThrownBy(() -> Limit.perSecond(1).name("a b")).hasMessage("name: \"a b\" (expected: 1-64 letters, digits or -._:)");
    assertThatThrownBy(() -> RateLimit.builder().limit(Limit.perSecond(1)).limit(Limit.perSecond(1)))
        .hasMessage("limit: name 1-per-1s used twice (expected: a name per limit)");
    assertThatThrownBy(() -> RateLimit.builder().maxConcurrent(-1)).hasMessage("maxConcurrent: -1 (expected: >= 0)");
    assertThatThrownBy(() -> RateLimit.builder().limit(Limit.perSecond(1)).maximumKeys(5)
        .store((k, l, t) -> null).build()).hasMessage("maximumKeys: 5 with a store of your own (expected: one or the other)");
    assertThatThrownBy(() -> RateLimitDecision.allowed(new long[1], new long[2]))
        .hasMessage("remaining: 1 entries, resetNanos: 2 (expected: one each per limit)");
  }
}
