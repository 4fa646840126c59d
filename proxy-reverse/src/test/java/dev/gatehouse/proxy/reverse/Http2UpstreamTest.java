package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import dev.gatehouse.proxy.ProxyServer;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** HTTP/2 towards upstreams: h2 over TLS by ALPN (with HTTP/1.1 fallback) and h2c with prior knowledge. */
@Timeout(60)
class Http2UpstreamTest {
  @TempDir
  static Path dir;
  static TestCerts.Issued ca;
  static TestCerts.Issued server;

  @BeforeAll
  static void certs() throws Exception {
    ca = TestCerts.ca(dir, "ca");
    server = TestCerts.leaf(dir, "server", ca, "localhost", "localhost");
  }

  /** An Undertow upstream that reports the protocol, connection and body digest it saw. */
  static final class Upstream implements AutoCloseable {
    final Undertow undertow;
    final Set<Object> connections = ConcurrentHashMap.newKeySet();
    final List<String> protocols = new java.util.concurrent.CopyOnWriteArrayList<>();
    final java.util.concurrent.BlockingQueue<String> seen = new java.util.concurrent.LinkedBlockingQueue<>();

    Upstream(boolean tls, boolean h2, HttpHandler handler) {
      this(tls, h2, -1, handler);
    }

    Upstream(boolean tls, boolean h2, int maxStreams, HttpHandler handler) {
      Undertow.Builder b = Undertow.builder().setIoThreads(1).setWorkerThreads(8)
          .setServerOption(UndertowOptions.ENABLE_HTTP2, h2)
          .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, -1L);
      if (maxStreams > 0) {
        b.setServerOption(UndertowOptions.HTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, maxStreams);
      }
      if (tls) {
        b.addHttpsListener(0, "127.0.0.1", TestCerts.serving(server, null));
      } else {
        b.addHttpListener(0, "127.0.0.1");
      }
      undertow = b.setHandler(ex -> {
        connections.add(ex.getSourceAddress()); // an HTTP/2 exchange has a connection object of its own
        protocols.add(ex.getProtocol().toString());
        seen.add(ex.getRequestPath() + " " + ex.getProtocol());
        handler.handleRequest(ex);
      }).build();
      undertow.start();
    }

    int port() {
      return ((InetSocketAddress) undertow.getListenerInfo().get(0).getAddress()).getPort();
    }

    @Override
    public void close() {
      undertow.stop();
    }
  }

  /** Answers with protocol, the request's X-Forwarded-For and Connection, and the SHA-256 of its body. */
  static final HttpHandler ECHO = ex -> {
    if (ex.isInIoThread()) {
      ex.dispatch(Http2UpstreamTest.ECHO);
      return;
    }
    ex.startBlocking();
    byte[] body = ex.getInputStream().readAllBytes();
    String reply = ex.getProtocol() + " " + ex.getRequestMethod() + " " + ex.getRequestURI()
        + " xff=" + ex.getRequestHeaders().getFirst("X-Forwarded-For")
        + " connection=" + ex.getRequestHeaders().getFirst(Headers.CONNECTION)
        + " auth=" + ex.getRequestHeaders().getFirst("X-Api")
        + " len=" + body.length + " sha=" + sha(body);
    ex.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain");
    ex.getResponseSender().send(reply);
  };

  static String sha(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static ProxyServer proxy(UpstreamGroup g) {
    return ReverseProxy.builder().ioThreads(2).readTimeout(Duration.ofSeconds(10))
        .addRoute(Route.any().retry(RetryPolicy.none()).to(g)).build().start();
  }

  static UpstreamGroup tlsGroup(int port) {
    return UpstreamGroup.builder().add("https://localhost:" + port).http2(true)
        .tls(UpstreamTls.builder().trustPem(ca.chain()).build()).build();
  }

  @Test
  void httpsUpstreamIsSpokenHttp2AndStreamsAreMultiplexedOnOneConnectionPerIoThread() throws Exception {
    try (Upstream up = new Upstream(true, true, ECHO); ProxyServer proxy = proxy(tlsGroup(up.port()))) {
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        all.add(Backends.CLIENT.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/r/" + i))
            .header("X-Api", "k" + i).build(), HttpResponse.BodyHandlers.ofString()));
      }
      for (int i = 0; i < all.size(); i++) {
        HttpResponse<String> r = all.get(i).get();
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).startsWith("HTTP/2.0 GET /r/" + i + " xff=127.0.0.1 connection=null auth=k" + i + " len=0");
        assertThat(r.headers().firstValue("Via")).hasValueSatisfying(v -> assertThat(v).isEqualTo("2 gatehouse"));
      }
      assertThat(up.protocols).hasSize(60).allMatch("HTTP/2.0"::equals);
      assertThat(up.connections.size()).isBetween(1, 2); // one per proxy I/O thread
    }
  }

  @Test
  void moreRequestsThanTheUpstreamAllowsStreamsOpenAnotherConnectionInsteadOfFailing() throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    HttpHandler slowish = ex -> {
      if (ex.isInIoThread()) {
        int n = inFlight.incrementAndGet();
        most.accumulateAndGet(n, Math::max);
        // answer from another task, so that streams overlap
        ex.dispatch(ex.getIoThread(), () -> {
          inFlight.decrementAndGet();
          ex.getResponseSender().send("ok " + ex.getRequestURI());
        });
      }
    };
    try (Upstream up = new Upstream(false, true, 3, slowish);
        ProxyServer proxy = ReverseProxy.builder().ioThreads(1)
            .addRoute(Route.any().retry(RetryPolicy.none())
                .to(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())).build().start()) {
      assertThat(Backends.get(proxy.port(), "/first").body()).isEqualTo("ok /first"); // SETTINGS are known now
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        all.add(Backends.CLIENT.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/b/" + i))
            .build(), HttpResponse.BodyHandlers.ofString()));
      }
      for (int i = 0; i < all.size(); i++) {
        HttpResponse<String> r = all.get(i).get();
        assertThat(r.statusCode()).as("request %d", i).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok /b/" + i);
      }
      assertThat(up.protocols).hasSize(41).containsOnly("HTTP/2.0");
    }
  }

  @Test
  void requestAndResponseBodiesStreamIntactBothWays() throws Exception {
    byte[] big = new byte[3 * 1024 * 1024 + 17];
    new Random(7).nextBytes(big);
    try (Upstream up = new Upstream(true, true, ECHO); ProxyServer proxy = proxy(tlsGroup(up.port()))) {
      HttpResponse<String> r = Backends.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/up"))
          .POST(HttpRequest.BodyPublishers.ofByteArray(big)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).startsWith("HTTP/2.0 POST /up").endsWith("len=" + big.length + " sha=" + sha(big));

      // chunked from the client (no length), then a large response body
      HttpResponse<String> chunked = Backends.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/chunked"))
          .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(chunked.body()).endsWith("len=" + big.length + " sha=" + sha(big));
    }
    byte[] download = new byte[8 * 1024 * 1024];
    new Random(9).nextBytes(download);
    try (Upstream up = new Upstream(true, true, ex -> ex.getResponseSender().send(java.nio.ByteBuffer.wrap(download)));
        ProxyServer proxy = proxy(tlsGroup(up.port()))) {
      HttpResponse<byte[]> r = Backends.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/down")).build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(sha(r.body())).isEqualTo(sha(download));
      assertThat(up.protocols).containsOnly("HTTP/2.0");
    }
  }

  @Test
  void anHttpsUpstreamWithoutHttp2GetsHttp11() throws Exception {
    try (Upstream up = new Upstream(true, false, ECHO); ProxyServer proxy = proxy(tlsGroup(up.port()))) {
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> r = Backends.get(proxy.port(), "/old");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).startsWith("HTTP/1.1 GET /old");
      }
      assertThat(up.protocols).containsOnly("HTTP/1.1");
    }
  }

  @Test
  void h2cWithPriorKnowledgeReachesWireMock() throws Exception {
    WireMockServer wm = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1").http2PlainDisabled(false));
    wm.start();
    try (ProxyServer proxy = proxy(UpstreamGroup.builder().add("http://127.0.0.1:" + wm.port()).http2(true).build())) {
      wm.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(201).withHeader("X-Upstream", "wm").withBody("created")));
      HttpResponse<String> r = Backends.post(proxy.port(), "/items?x=1", "{\"a\":1}");
      assertThat(r.statusCode()).isEqualTo(201);
      assertThat(r.body()).isEqualTo("created");
      assertThat(r.headers().firstValue("X-Upstream")).hasValue("wm");
      List<LoggedRequest> seen = wm.findAll(com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor(anyUrl()));
      assertThat(seen).hasSize(1);
      LoggedRequest q = seen.get(0);
      assertThat(q.getProtocol()).isEqualTo("HTTP/2.0");
      assertThat(q.getUrl()).isEqualTo("/items?x=1");
      assertThat(q.getBodyAsString()).isEqualTo("{\"a\":1}");
      assertThat(q.getHeader("X-Forwarded-For")).isEqualTo("127.0.0.1");
      assertThat(q.containsHeader("Connection")).isFalse();
    } finally {
      wm.stop();
    }
  }

  @Test
  void anUpstreamThatIsDownGives502AndOneThatHangsGives504() throws Exception {
    int closed = Backends.closedPort();
    try (ProxyServer proxy = proxy(UpstreamGroup.builder().add("http://127.0.0.1:" + closed).http2(true).build())) {
      assertThat(Backends.get(proxy.port(), "/x").statusCode()).isEqualTo(502);
    }
    CountDownLatch release = new CountDownLatch(1);
    try (Upstream up = new Upstream(false, true, ex -> ex.dispatch(() -> {
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          ex.endExchange();
        }))) {
      try (ProxyServer proxy = ReverseProxy.builder().readTimeout(Duration.ofMillis(300))
          .addRoute(Route.any().retry(RetryPolicy.none())
              .to(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())).build().start()) {
        long t0 = System.nanoTime();
        assertThat(Backends.get(proxy.port(), "/hang").statusCode()).isEqualTo(504);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        assertThat(up.protocols).containsOnly("HTTP/2.0");
        // the hung stream was reset, the connection stays good for the next request
        release.countDown();
      } finally {
        release.countDown();
      }
    }
  }

  @Test
  void anUpstreamDyingMidBodyLeavesTheClientWithATruncatedMessage() throws Exception {
    try (Upstream up = new Upstream(false, true, ex -> {
          ex.getResponseHeaders().put(Headers.CONTENT_LENGTH, 100_000);
          ex.getResponseSender().send("x".repeat(1000), new io.undertow.io.IoCallback() {
            @Override
            public void onComplete(HttpServerExchange exchange, io.undertow.io.Sender sender) {
              // the whole HTTP/2 connection goes, a moment after the first part of the body
              exchange.getIoThread().executeAfter(() -> org.xnio.IoUtils.safeClose(exchange.getConnection()),
                  100, java.util.concurrent.TimeUnit.MILLISECONDS);
            }

            @Override
            public void onException(HttpServerExchange exchange, io.undertow.io.Sender sender, java.io.IOException e) {
              org.xnio.IoUtils.safeClose(exchange.getConnection());
            }
          });
        });
        ProxyServer proxy = proxy(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())) {
      try (Socket s = new Socket("127.0.0.1", proxy.port())) {
        s.setSoTimeout(10_000);
        OutputStream out = s.getOutputStream();
        out.write("GET /cut HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        byte[] all = in.readAllBytes(); // ends when the proxy closes the connection
        String text = new String(all, StandardCharsets.ISO_8859_1);
        int headEnd = text.indexOf("\r\n\r\n");
        if (headEnd < 0) {
          // nothing or only part of a head: the client cannot mistake it for a response either
          assertThat(text).doesNotContain("200");
          return;
        }
        String head = text.substring(0, headEnd);
        if (head.startsWith("HTTP/1.1 200")) {
          assertThat(head).containsIgnoringCase("Content-Length: 100000");
          assertThat(all.length - headEnd - 4).isLessThan(100_000);
        } else {
          assertThat(head).startsWith("HTTP/1.1 502");
        }
      }
    }
  }

  @Test
  void aClientThatStopsReadingHoldsTheUpstreamByFlowControlWithoutStallingOtherStreams() throws Exception {
    byte[] huge = new byte[32 * 1024 * 1024];
    CountDownLatch upstreamFailed = new CountDownLatch(1);
    CountDownLatch upstreamDone = new CountDownLatch(1);
    HttpHandler streamer = new HttpHandler() {
      @Override
      public void handleRequest(HttpServerExchange ex) {
        if (!ex.getRequestPath().equals("/huge")) {
          ex.getResponseSender().send("small");
          return;
        }
        if (ex.isInIoThread()) {
          ex.dispatch(this);
          return;
        }
        ex.startBlocking();
        ex.getResponseHeaders().put(Headers.CONTENT_LENGTH, huge.length);
        try (OutputStream out = ex.getOutputStream()) {
          for (int i = 0; i < huge.length; i += 1 << 20) {
            out.write(huge, i, 1 << 20);
            out.flush();
          }
          upstreamDone.countDown();
        } catch (java.io.IOException e) {
          upstreamFailed.countDown(); // the stream was reset
        }
      }
    };
    try (Upstream up = new Upstream(false, true, streamer);
        ProxyServer proxy = ReverseProxy.builder().ioThreads(1)
            .addRoute(Route.any().retry(RetryPolicy.none())
                .to(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())).build().start()) {
      try (Socket s = new Socket("127.0.0.1", proxy.port())) {
        s.setReceiveBufferSize(16 * 1024);
        s.getOutputStream().write("GET /huge HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        byte[] head = new byte[512];
        assertThat(s.getInputStream().read(head)).isPositive();
        assertThat(new String(head, StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 200");
        // the client reads no more: flow control must stop the upstream far short of 32 MiB ...
        assertThat(upstreamDone.await(1, java.util.concurrent.TimeUnit.SECONDS)).isFalse();
        // ... and other requests still go over the same connection meanwhile
        assertThat(Backends.get(proxy.port(), "/other").body()).isEqualTo("small");
      }
      // the client went away: only its stream is reset (RST_STREAM), the connection carries on
      assertThat(Backends.get(proxy.port(), "/after").body()).isEqualTo("small");
      assertThat(upstreamDone.getCount()).isEqualTo(1);
      assertThat(up.connections).hasSize(1);
    }
  }

  /**
   * Each stalled stream keeps up to its window of unread bytes in the connection's read buffers. With
   * Undertow's default limit of 16 read buffers per connection, two or three such streams stopped the
   * whole connection (this test hung); the limit now follows the connection's flow-control window.
   */
  @Test
  void severalStalledClientsOnOneUpstreamConnectionDoNotStallTheOthers() throws Exception {
    byte[] huge = new byte[32 * 1024 * 1024];
    AtomicInteger finished = new AtomicInteger();
    HttpHandler streamer = new HttpHandler() {
      @Override
      public void handleRequest(HttpServerExchange ex) {
        if (!ex.getRequestPath().startsWith("/huge")) {
          ex.getResponseSender().send("small");
          return;
        }
        if (ex.isInIoThread()) {
          ex.dispatch(this);
          return;
        }
        ex.startBlocking();
        ex.getResponseHeaders().put(Headers.CONTENT_LENGTH, huge.length);
        try (OutputStream out = ex.getOutputStream()) {
          for (int i = 0; i < huge.length; i += 1 << 20) {
            out.write(huge, i, 1 << 20);
            out.flush();
          }
          finished.incrementAndGet();
        } catch (java.io.IOException e) {
          // the stream was reset when its client went away
        }
      }
    };
    try (Upstream up = new Upstream(false, true, streamer);
        ProxyServer proxy = ReverseProxy.builder().ioThreads(1)
            .addRoute(Route.any().retry(RetryPolicy.none())
                .to(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())).build().start()) {
      List<Socket> stalled = new ArrayList<>();
      try {
        for (int i = 0; i < 8; i++) {
          Socket s = new Socket();
          stalled.add(s);
          s.setReceiveBufferSize(16 * 1024);
          s.setSoTimeout(10_000);
          s.connect(new InetSocketAddress("127.0.0.1", proxy.port()));
          s.getOutputStream().write(("GET /huge/" + i + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          byte[] head = new byte[512];
          assertThat(s.getInputStream().read(head)).as("stalled client %d gets its response head", i).isPositive();
          assertThat(new String(head, StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 200");
        }
        // eight clients read no more, each stream holding its window of unread bytes; the others still flow
        for (int i = 0; i < 5; i++) {
          assertThat(Backends.get(proxy.port(), "/other/" + i).body()).isEqualTo("small");
        }
      } finally {
        for (Socket s : stalled) {
          s.close();
        }
      }
      assertThat(Backends.get(proxy.port(), "/after").body()).isEqualTo("small");
      assertThat(finished.get()).as("no stalled response reached its end").isZero();
      assertThat(up.connections).hasSize(1);
    }
  }

  /**
   * H2.CL towards an HTTP/2 upstream: the body is held to the client's content-length there too, so the
   * upstream's stream is reset before it ends and no complete request reaches the upstream's handler.
   */
  @Test
  void anHttp2ClientBodyLongerThanItsContentLengthNeverCompletesAnHttp2UpstreamRequest() throws Exception {
    java.util.concurrent.BlockingQueue<String> upstreamSaw = new java.util.concurrent.LinkedBlockingQueue<>();
    HttpHandler reader = new HttpHandler() {
      @Override
      public void handleRequest(HttpServerExchange ex) throws Exception {
        if (ex.isInIoThread()) {
          ex.dispatch(this);
          return;
        }
        ex.startBlocking();
        try {
          byte[] body = ex.getInputStream().readAllBytes();
          upstreamSaw.add("complete " + ex.getRequestPath() + " len=" + body.length);
          ex.getResponseSender().send("ok");
        } catch (java.io.IOException e) {
          upstreamSaw.add("cut " + ex.getRequestPath());
        }
      }
    };
    try (Upstream up = new Upstream(false, true, reader);
        ProxyServer proxy = ReverseProxy.builder().http2(true)
            .addRoute(Route.any().retry(RetryPolicy.none())
                .to(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())).build().start();
        dev.gatehouse.proxy.testsupport.RawH2 c = dev.gatehouse.proxy.testsupport.RawH2.connect(proxy.port())) {
      c.headers(1, false, dev.gatehouse.proxy.testsupport.RawH2.request("POST", "/cl", "content-length", "5"));
      c.data(1, false, "hello");
      String saw = upstreamSaw.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS);
      assertThat(saw).as("the last declared byte is held back until the client's stream ends").isNull();
      c.data(1, true, "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
      dev.gatehouse.proxy.testsupport.RawH2.Result r = c.await(1);
      assertThat(r.refused()).as(r.toString()).isTrue();
      assertThat(upstreamSaw.poll(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("cut /cl");
      // the same connection still carries a clean request, exactly once
      c.headers(3, false, dev.gatehouse.proxy.testsupport.RawH2.request("POST", "/ok", "content-length", "5"));
      c.data(3, true, "hello");
      assertThat(c.await(3).status).isEqualTo(200);
      assertThat(upstreamSaw.poll(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("complete /ok len=5");
      assertThat(upstreamSaw).isEmpty();
    }
  }

  /**
   * RFC 9113 §6.8: a GOAWAY promises answers for the streams up to its last stream id; those above it
   * were not processed. Undertow's client would fail them all; the proxy lets the promised ones finish on
   * the old connection and sends the others again on a new one (safe for any method: they were never
   * processed). Route retries are off, so this is the connection handling alone.
   */
  @Test
  void aGoAwayLetsThePromisedStreamsFinishAndSendsTheOthersOnANewConnection() throws Exception {
    try (dev.gatehouse.proxy.testsupport.RawH2Server up = new dev.gatehouse.proxy.testsupport.RawH2Server();
        ProxyServer proxy = ReverseProxy.builder().ioThreads(1)
            .addRoute(Route.any().retry(RetryPolicy.none())
                .to(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())).build().start()) {
      List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
      for (String path : new String[] {"/a", "/b", "/c"}) {
        answers.add(Backends.CLIENT.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()));
      }
      List<dev.gatehouse.proxy.testsupport.RawH2Server.Request> first = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        first.add(up.next());
      }
      first.sort(java.util.Comparator.comparingInt(dev.gatehouse.proxy.testsupport.RawH2Server.Request::stream));
      assertThat(first).allSatisfy(r -> assertThat(r.conn().number).isEqualTo(1));
      dev.gatehouse.proxy.testsupport.RawH2Server.Conn conn1 = first.get(0).conn();
      conn1.goAway(first.get(1).stream(), 0);
      conn1.respond(first.get(0).stream(), "conn1 " + first.get(0).path());
      conn1.respond(first.get(1).stream(), "conn1 " + first.get(1).path());
      dev.gatehouse.proxy.testsupport.RawH2Server.Request again = up.next();
      assertThat(again.conn().number).as("sent again on a new connection").isEqualTo(2);
      assertThat(again.path()).isEqualTo(first.get(2).path());
      again.conn().respond(again.stream(), "conn2 " + again.path());
      java.util.Set<String> bodies = new java.util.HashSet<>();
      for (CompletableFuture<HttpResponse<String>> f : answers) {
        HttpResponse<String> r = f.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        bodies.add(r.body());
      }
      assertThat(bodies).containsExactlyInAnyOrder("conn1 " + first.get(0).path(), "conn1 " + first.get(1).path(),
          "conn2 " + first.get(2).path());
      assertThat(up.requests).as("nothing else reached the upstream").isEmpty();
    }
  }

  @Test
  void aStreamAGoAwayRefusesWhoseBodyIsGoneGetsA502SayingSo() throws Exception {
    try (dev.gatehouse.proxy.testsupport.RawH2Server up = new dev.gatehouse.proxy.testsupport.RawH2Server();
        ProxyServer proxy = ReverseProxy.builder().ioThreads(1)
            .addRoute(Route.any().retry(RetryPolicy.none())
                .to(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())).build().start()) {
      CompletableFuture<HttpResponse<String>> answer = Backends.CLIENT.sendAsync(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/order"))
              .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString("buy")).build(),
          HttpResponse.BodyHandlers.ofString());
      dev.gatehouse.proxy.testsupport.RawH2Server.Request r = up.next();
      r.conn().goAway(0, 0);
      HttpResponse<String> got = answer.get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(got.statusCode()).isEqualTo(502);
      assertThat(up.requests).isEmpty();
    }
  }

  @Test
  void expectContinueAndBodyTransformersWorkOverHttp2() throws Exception {
    dev.gatehouse.proxy.Filter shout = (ex, chain) -> {
      ex.request().transformBody(dev.gatehouse.proxy.BodyTransformers.mapChunks(Http2UpstreamTest::upper));
      return chain.proceed().thenApply(r -> r.transformBody(dev.gatehouse.proxy.BodyTransformers.mapChunks(Http2UpstreamTest::upper)));
    };
    try (Upstream up = new Upstream(false, true, ECHO);
        ProxyServer proxy = ReverseProxy.builder().addFilter(shout)
            .addRoute(Route.any().retry(RetryPolicy.none())
                .to(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())).build().start();
        Socket s = new Socket("127.0.0.1", proxy.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write(("POST /shout HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
          + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      byte[] interim = new byte[25];
      int n = in.readNBytes(interim, 0, interim.length);
      assertThat(new String(interim, 0, n, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 100 Continue\r\n\r\n");
      out.write("hello".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String reply = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      assertThat(reply).startsWith("HTTP/1.1 200");
      // the upstream got the transformed body over HTTP/2; its answer was transformed on the way back
      assertThat(reply).contains("HTTP/2.0 POST /SHOUT").contains("LEN=5 SHA=" + sha("HELLO".getBytes(StandardCharsets.US_ASCII)).toUpperCase());
    }
  }

  @Test
  void anIdempotentRequestResetByOneHttp2ServerIsRetriedOnTheNext() throws Exception {
    try (Upstream broken = new Upstream(false, true, ex -> org.xnio.IoUtils.safeClose(ex.getConnection()));
        Upstream good = new Upstream(false, true, ECHO);
        ProxyServer proxy = ReverseProxy.builder()
            .addRoute(Route.any().to(UpstreamGroup.builder().loadBalancing(LoadBalancing.roundRobin())
                .add("http://127.0.0.1:" + broken.port()).add("http://127.0.0.1:" + good.port()).http2(true).build()))
            .build().start()) {
      for (int i = 0; i < 4; i++) {
        HttpResponse<String> r = Backends.get(proxy.port(), "/again/" + i);
        assertThat(r.statusCode()).as("request %d", i).isEqualTo(200);
        assertThat(r.body()).startsWith("HTTP/2.0 GET /again/" + i);
      }
      assertThat(broken.protocols).isNotEmpty().containsOnly("HTTP/2.0");
    }
  }

  static java.nio.ByteBuffer upper(java.nio.ByteBuffer in) {
    byte[] b = new byte[in.remaining()];
    in.get(b);
    return java.nio.ByteBuffer.wrap(new String(b, StandardCharsets.ISO_8859_1).toUpperCase(java.util.Locale.ROOT)
        .getBytes(StandardCharsets.ISO_8859_1));
  }

  @Test
  void healthChecksSpeakHttp2WhenTheGroupDoes() throws Exception {
    HealthCheck check = HealthCheck.http("/health").interval(Duration.ofMillis(500)).timeout(Duration.ofMillis(400))
        .healthyThreshold(1).unhealthyThreshold(1).build();
    try (Upstream h2c = new Upstream(false, true, ECHO);
        Upstream oldTls = new Upstream(true, false, ECHO);
        ProxyServer proxy = ReverseProxy.builder()
            .addRoute(Route.pathPrefix("/c").to(UpstreamGroup.builder().add("http://127.0.0.1:" + h2c.port()).http2(true)
                .healthCheck(check).build()))
            .addRoute(Route.any().to(UpstreamGroup.builder().add("https://localhost:" + oldTls.port()).http2(true)
                .tls(UpstreamTls.builder().trustPem(ca.chain()).build()).healthCheck(check).build()))
            .build().start()) {
      assertThat(awaitPath(h2c, "/health")).isEqualTo("/health HTTP/2.0"); // h2c with prior knowledge
      assertThat(awaitPath(oldTls, "/health")).isEqualTo("/health HTTP/1.1"); // ALPN declined: HTTP/1.1
      assertThat(Backends.get(proxy.port(), "/c/x").body()).startsWith("HTTP/2.0 GET /c/x");
      assertThat(Backends.get(proxy.port(), "/y").body()).startsWith("HTTP/1.1 GET /y");
    }
  }

  /** The first request the upstream sees for {@code path}, as "path protocol". */
  static String awaitPath(Upstream up, String path) throws InterruptedException {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
    for (;;) {
      String s = up.seen.poll(deadline - System.nanoTime(), java.util.concurrent.TimeUnit.NANOSECONDS);
      if (s == null) {
        throw new AssertionError("no request for " + path + " within 20 s");
      }
      if (s.startsWith(path + " ")) {
        return s;
      }
    }
  }

  @Test
  void aConnectionIsRetiredAfter900StreamsBeforeTheUpstreamSendsGoaway() throws Exception {
    try (Upstream up = new Upstream(false, true, ex -> ex.getResponseSender().send("ok"));
        ProxyServer proxy = ReverseProxy.builder().ioThreads(1)
            .addRoute(Route.any().retry(RetryPolicy.none())
                .to(UpstreamGroup.builder().add("http://127.0.0.1:" + up.port()).http2(true).build())).build().start()) {
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      for (int i = 0; i < 950; i++) {
        all.add(Backends.CLIENT.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/n/" + i))
            .build(), HttpResponse.BodyHandlers.ofString()));
        if (all.size() >= 20) {
          assertThat(all.remove(0).get().statusCode()).isEqualTo(200);
        }
      }
      for (CompletableFuture<HttpResponse<String>> f : all) {
        assertThat(f.get().statusCode()).isEqualTo(200);
      }
      assertThat(up.protocols).hasSize(950).containsOnly("HTTP/2.0");
      assertThat(up.connections).hasSize(2); // 900 streams on the first, the rest on a fresh one
    }
  }

  @Test
  void http2IsOffTillAsked() throws Exception {
    try (Upstream up = new Upstream(true, true, ECHO);
        ProxyServer proxy = proxy(UpstreamGroup.builder().add("https://localhost:" + up.port())
            .tls(UpstreamTls.builder().trustPem(ca.chain()).build()).build())) {
      assertThat(Backends.get(proxy.port(), "/default").body()).startsWith("HTTP/1.1 GET /default");
    }
  }

}
