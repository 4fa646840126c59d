package dev.gatehouse.proxy.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.BodyTransformers;
import dev.gatehouse.proxy.ErrorHandler;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The filter harness against the real engine: each case runs the same filters on the same request,
 * once in memory and once through a proxy on sockets with a raw upstream, and both must agree on what
 * the client got and what the upstream received.
 */
@Timeout(60)
class FilterHarnessEquivalenceTest {

  /** One scenario: filters, the client's request, the upstream's answer, and the fields to compare. */
  record Case(String name, List<Filter> filters, TestRequest request, TestResponse reply, ErrorHandler handler,
      List<String> fields) {
    @Override
    public String toString() {
      return name;
    }
  }

  /** What both runs are compared on. */
  record Outcome(int status, String body, Map<String, String> responseFields, String upstreamLine,
      Map<String, String> upstreamFields, String upstreamBody) {}

  static Filter upperCaseRequestBody() {
    return (ex, chain) -> {
      ex.request().transformBody(BodyTransformers.mapChunks(b -> upper(b)));
      return chain.proceed();
    };
  }

  static ByteBuffer upper(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.get(a);
    return ByteBuffer.wrap(new String(a, StandardCharsets.ISO_8859_1).toUpperCase(Locale.ROOT)
        .getBytes(StandardCharsets.ISO_8859_1));
  }

  static Stream<Case> cases() {
    TestResponse ok = TestResponse.of(200, "hello from upstream").header("Content-Type", "text/plain");
    List<String> fields = List.of("X-Request-Id", "X-Seen", "X-User", "Content-Type", "X-Via-Filter");
    ErrorHandler teapot = (ex, error, during) -> ProxyResponse.of(418, "mapped " + error.getClass().getSimpleName());
    return Stream.of(
        new Case("headers on both legs", List.of((ex, chain) -> {
          ex.request().headers().set("X-Request-Id", "r-1");
          return chain.proceed().thenApply(r -> {
            r.headers().set("X-Request-Id", "r-1");
            return r;
          });
        }), TestRequest.GET("/a?b=1"), ok, ErrorHandler.defaults(), fields),
        new Case("short-circuit", List.of((ex, chain) -> CompletableFuture.completedStage(
            ProxyResponse.of(401, "no key"))), TestRequest.GET("/x"), ok, ErrorHandler.defaults(), fields),
        new Case("registration order", List.of(
            (ex, chain) -> {
              ex.request().headers().add("X-Seen", "first");
              return chain.proceed().thenApply(r -> {
                r.headers().add("X-Seen", "first-out");
                return r;
              });
            },
            (ex, chain) -> {
              ex.request().headers().add("X-Seen", "second");
              return chain.proceed().thenApply(r -> {
                r.headers().add("X-Seen", "second-out");
                return r;
              });
            }), TestRequest.GET("/order"), ok, ErrorHandler.defaults(), fields),
        new Case("blocking executor then proceed", List.of((ex, chain) -> CompletableFuture
            .supplyAsync(() -> "alice", ex.blockingExecutor())
            .thenCompose(user -> {
              ex.request().headers().set("X-User", user);
              return chain.proceed();
            })), TestRequest.GET("/me"), ok, ErrorHandler.defaults(), fields),
        new Case("a filter's own thread then proceed", List.of((ex, chain) -> CompletableFuture
            .supplyAsync(() -> "bob")
            .thenCompose(user -> {
              ex.request().headers().set("X-User", user);
              return chain.proceed();
            })), TestRequest.GET("/me"), ok, ErrorHandler.defaults(), fields),
        new Case("request body transformer", List.of(upperCaseRequestBody()),
            TestRequest.POST("/in", "make me loud"), ok, ErrorHandler.defaults(), fields),
        new Case("response body transformer", List.of((ex, chain) -> chain.proceed()
            .thenApply(r -> r.transformBody(BodyTransformers.mapChunks(b -> upper(b))))),
            TestRequest.GET("/out"), ok, ErrorHandler.defaults(), fields),
        new Case("aggregated response over its limit", List.of((ex, chain) -> chain.proceed()
            .thenApply(r -> r.transformBody(BodyTransformers.aggregate(4, b -> b)))),
            TestRequest.GET("/big"), ok, ErrorHandler.defaults(), fields),
        new Case("aggregated request over its limit", List.of((ex, chain) -> {
          ex.request().transformBody(BodyTransformers.aggregate(4, b -> b));
          return chain.proceed();
        }), TestRequest.POST("/upload", "more than four bytes"), ok, ErrorHandler.defaults(), fields),
        new Case("a filter that throws", List.of((ex, chain) -> {
          throw new IllegalStateException("bug");
        }), TestRequest.GET("/"), ok, ErrorHandler.defaults(), fields),
        new Case("a failed stage mapped by the default handler", List.of((ex, chain) ->
            CompletableFuture.failedFuture(new UpstreamTimeoutException("too slow"))),
            TestRequest.GET("/"), ok, ErrorHandler.defaults(), fields),
        new Case("a custom error handler", List.of((ex, chain) ->
            CompletableFuture.failedFuture(new UpstreamTimeoutException("too slow"))),
            TestRequest.GET("/"), ok, teapot, fields),
        new Case("a null stage", List.of((ex, chain) -> null), TestRequest.GET("/"), ok, ErrorHandler.defaults(),
            fields),
        new Case("proceed twice", List.of((ex, chain) -> {
          chain.proceed();
          return chain.proceed();
        }), TestRequest.GET("/"), ok, ErrorHandler.defaults(), fields),
        new Case("upstream status passed on and changed on the way back", List.of((ex, chain) -> chain.proceed()
            .thenApply(r -> r.status() == 503 ? r.status(502) : r)),
            TestRequest.GET("/"), TestResponse.of(503, "busy"), ErrorHandler.defaults(), fields),
        new Case("path and query rewritten", List.of((ex, chain) -> {
          ex.request().path("/v2" + ex.request().path()).query("page=2");
          return chain.proceed();
        }), TestRequest.GET("/items?page=1"), ok, ErrorHandler.defaults(), fields),
        new Case("a local response with a transformer", List.of((ex, chain) -> CompletableFuture.completedStage(
            ProxyResponse.of(200, "quiet").transformBody(BodyTransformers.mapChunks(b -> upper(b))))),
            TestRequest.GET("/"), ok, ErrorHandler.defaults(), fields),
        new Case("a local response's own Content-Length is the proxy's to set", List.of((ex, chain) -> {
          ProxyResponse r = ProxyResponse.of(200, "12345");
          r.headers().set("Content-Length", "99");
          r.headers().set("X-Via-Filter", "yes");
          return CompletableFuture.completedStage(r);
        }), TestRequest.GET("/"), ok, ErrorHandler.defaults(), List.of("Content-Length", "X-Via-Filter")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void theHarnessAndTheEngineAgree(Case c) throws Exception {
    Outcome inMemory = inMemory(c);
    Outcome onSockets = onSockets(c);

    assertThat(inMemory).isEqualTo(onSockets);
  }

  private static Outcome inMemory(Case c) {
    FilterHarness.Result r = FilterHarness.of(c.filters()).request(c.request()).upstreamReplies(c.reply())
        .errorHandler(c.handler()).run();
    Map<String, String> response = new LinkedHashMap<>();
    for (String f : c.fields()) {
      List<String> v = r.response().headers(f);
      if (!v.isEmpty()) {
        response.put(f, String.join(",", v));
      }
    }
    FilterHarness.UpstreamRequest u = r.upstreamRequest().orElse(null);
    Map<String, String> upstream = new LinkedHashMap<>();
    if (u != null) {
      for (String f : c.fields()) {
        List<String> v = u.headers(f);
        if (!v.isEmpty()) {
          upstream.put(f, String.join(",", v));
        }
      }
    }
    return new Outcome(r.response().status(), r.response().bodyText(), response,
        u == null ? null : u.method() + " " + u.pathAndQuery(), upstream, u == null ? null : u.bodyText());
  }

  private static Outcome onSockets(Case c) throws Exception {
    TestResponse reply = c.reply();
    StringBuilder head = new StringBuilder("HTTP/1.1 " + reply.status() + " X\r\n");
    for (java.util.Map.Entry<String, String> h : reply.headers()) {
      head.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
    }
    head.append("Content-Length: ").append(reply.body().length).append("\r\n\r\n");
    byte[] answer = concat(head.toString().getBytes(StandardCharsets.ISO_8859_1), reply.body());
    try (RawUpstream up = RawUpstream.start(conn -> {
          RawUpstream.Request req;
          while ((req = conn.readRequest()) != null && req.complete) {
            conn.write(answer);
          }
        })) {
      TestProxy b = TestProxy.builder().upstream(up.url()).errorHandler(c.handler());
      for (Filter f : c.filters()) {
        b.addFilter(f);
      }
      RawHttp.Response r;
      try (ProxyServer proxy = b.build().start()) {
        r = RawHttp.exchange(proxy.port(), c.request().toHttp1());
      }
      RawUpstream.Request u = up.requests.poll(200, TimeUnit.MILLISECONDS);
      if (u != null && !u.complete) {
        u = null; // cut short by the proxy: never a request the upstream could act on
      }
      Map<String, String> response = new LinkedHashMap<>();
      Map<String, String> upstream = new LinkedHashMap<>();
      for (String f : c.fields()) {
        List<String> v = r.headers(f.toLowerCase(Locale.ROOT));
        if (!v.isEmpty()) {
          response.put(f, String.join(",", v));
        }
        if (u != null && !u.headers(f).isEmpty()) {
          upstream.put(f, String.join(",", u.headers(f)));
        }
      }
      String line = u == null ? null : u.requestLine.substring(0, u.requestLine.lastIndexOf(' '));
      return new Outcome(r.status, r.bodyText(), response, line, upstream, u == null ? null : u.bodyText());
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
