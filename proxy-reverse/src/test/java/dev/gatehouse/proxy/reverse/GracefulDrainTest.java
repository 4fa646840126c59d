package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.ServerTls;
import dev.gatehouse.proxy.testsupport.LogCapture;
import dev.gatehouse.proxy.testsupport.RawH2;
import dev.gatehouse.proxy.testsupport.RawHttp;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.websockets.core.AbstractReceiveListener;
import io.undertow.websockets.core.BufferedTextMessage;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code close()} under load: every request the proxy accepted before or during the drain completes,
 * keep-alive clients learn that their connection ends ({@code Connection: close} on their last response,
 * or an idle connection closed at once), HTTP/2 clients get GOAWAY, new connections are refused, the
 * WebSocket runs through the grace period and is closed at its end with a log line, and nothing is
 * left open.
 */
@Timeout(90)
class GracefulDrainTest {
  private static final Duration GRACE = Duration.ofSeconds(2);

  /** Paths the upstream received, in any order. */
  private final Set<String> received = ConcurrentHashMap.newKeySet();
  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger slowArrived = new AtomicInteger();
  private Undertow upstream;

  @AfterEach
  void stopUpstream() {
    release.countDown();
    if (upstream != null) {
      upstream.stop();
    }
  }

  /** Answers every path with itself; {@code /slow/...} only once released; {@code /ws} echoes text. */
  private String startUpstream() {
    HttpHandler answer = new HttpHandler() {
      @Override
      public void handleRequest(io.undertow.server.HttpServerExchange x) throws Exception {
        if (x.getRequestPath().startsWith("/slow/")) {
          if (x.isInIoThread()) {
            x.dispatch(this);
            return;
          }
          received.add(x.getRequestPath());
          slowArrived.incrementAndGet();
          release.await(60, TimeUnit.SECONDS);
        } else {
          received.add(x.getRequestPath());
        }
        x.getResponseSender().send(x.getRequestPath());
      }
    };
    upstream = Undertow.builder().addHttpListener(0, "127.0.0.1").setIoThreads(1).setWorkerThreads(8)
        .setServerOption(UndertowOptions.ENABLE_STATISTICS, true)
        .setHandler(Handlers.path(answer).addPrefixPath("/ws", Handlers.websocket((exchange, channel) -> {
          channel.getReceiveSetter().set(new AbstractReceiveListener() {
            @Override
            protected void onFullTextMessage(WebSocketChannel ch, BufferedTextMessage message) {
              WebSockets.sendText("echo:" + message.getData(), ch, null);
            }
          });
          channel.resumeReceives();
        })))
        .build();
    upstream.start();
    return "http://127.0.0.1:" + ((InetSocketAddress) upstream.getListenerInfo().get(0).getAddress()).getPort();
  }

  private long upstreamOpenConnections() {
    return upstream.getListenerInfo().get(0).getConnectorStatistics().getActiveConnections();
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.yield();
    }
  }

  /** Not a thread of the test's clients or of the upstream (whose workers start as they are needed). */
  private boolean proxysOwn(String thread) {
    return !thread.startsWith("drain-test-client") && !thread.startsWith("HttpClient")
        && !thread.startsWith(upstream.getWorker().getName() + " ");
  }

  private static Set<Thread> threads() {
    return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).collect(Collectors.toSet());
  }

  private static String get(String path) {
    return "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
  }

  /** How one keep-alive client's connection ended. */
  private static final class Client {
    final List<String> answered = new ArrayList<>();
    final List<String> failures = new ArrayList<>();
    /** Its last response said {@code Connection: close} (else its connection closed while idle). */
    boolean lastSaidClose;
    /** The proxy closed the connection after the last response. */
    boolean closedAfter;
    /** A new connection after that was refused. */
    boolean newConnectionRefused;
  }

  /** Sends requests on one keep-alive connection until the proxy ends it, then tries a new connection. */
  private static Client keepAliveClient(int port, int id) throws IOException {
    Client c = new Client();
    try (RawHttp http = RawHttp.connect(port)) {
      for (int i = 0; ; i++) {
        String path = "/fast/" + id + "/" + i;
        RawHttp.Response r;
        try {
          http.send(get(path));
          r = http.readResponse();
        } catch (IOException e) {
          c.closedAfter = true; // closed while idle: the request was not accepted (the upstream never saw it)
          break;
        }
        if (r.status != 200 || r.truncated || !r.bodyText().equals(path)) {
          c.failures.add(path + " -> " + r.statusLine + " " + r.bodyText().trim());
          break;
        }
        c.answered.add(path);
        if ("close".equalsIgnoreCase(r.header("connection"))) {
          c.lastSaidClose = true;
          c.closedAfter = http.isClosedByPeer();
          break;
        }
      }
    }
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    } catch (ConnectException e) {
      c.newConnectionRefused = true;
    }
    return c;
  }

  @Test
  void closeUnderLoadCompletesEveryAcceptedRequestAndEndsEveryConnection() throws Exception {
    String up = startUpstream();
    HttpClient wsClient = HttpClient.newHttpClient();
    ExecutorService pool = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "drain-test-client");
      t.setDaemon(true);
      return t;
    });
    Set<Thread> before = threads();
    try (LogCapture logs = new LogCapture()) {
      ReverseProxyServer proxy = ReverseProxy.builder().ioThreads(2).shutdownGracePeriod(GRACE)
          .addRoute(Route.any().to(up)).build().start();
      int port = proxy.port();

      WebSocketTest.Inbox inbox = new WebSocketTest.Inbox();
      WebSocket ws = wsClient.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws"), inbox)
          .get(10, TimeUnit.SECONDS);
      ws.sendText("before", true).get(5, TimeUnit.SECONDS);
      assertThat(inbox.next()).isEqualTo("echo:before");

      // three keep-alive clients with a request in flight when close() begins
      List<Future<RawHttp.Response[]>> slow = new ArrayList<>();
      List<RawHttp> slowConnections = new CopyOnWriteArrayList<>();
      for (int i = 0; i < 3; i++) {
        int id = i;
        slow.add(pool.submit(() -> {
          RawHttp http = RawHttp.connect(port);
          slowConnections.add(http);
          RawHttp.Response first = http.send(get("/first/" + id)).readResponse();
          RawHttp.Response last = http.send(get("/slow/" + id)).readResponse();
          return new RawHttp.Response[] {first, last};
        }));
      }
      await("the slow requests reached the upstream", () -> slowArrived.get() == 3);
      // four keep-alive clients sending as fast as they can
      List<Future<Client>> fast = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        int id = i;
        fast.add(pool.submit(() -> keepAliveClient(port, id)));
      }
      await("the load runs", () -> received.stream().filter(p -> p.startsWith("/fast/")).count() >= 200);

      CompletableFuture<Void> closing = CompletableFuture.runAsync(proxy::close, pool);
      await("close() has begun", () -> proxy.status().state() == ProxyStatus.State.DRAINING);

      // every fast client's connection ends (idle ones closed at once, busy ones after their response)
      List<Client> clients = new ArrayList<>();
      for (Future<Client> f : fast) {
        clients.add(f.get(30, TimeUnit.SECONDS));
      }
      // the WebSocket still works in the grace period
      ws.sendText("during", true).get(5, TimeUnit.SECONDS);
      assertThat(inbox.next()).isEqualTo("echo:during");
      assertThat(closing).as("close() waits for the requests in flight").isNotDone();

      release.countDown();
      for (Future<RawHttp.Response[]> f : slow) {
        RawHttp.Response[] r = f.get(30, TimeUnit.SECONDS);
        assertThat(r[0].header("connection")).as("before close()").isNull();
        assertThat(r[1].status).isEqualTo(200);
        assertThat(r[1].bodyText()).startsWith("/slow/");
        assertThat(r[1].header("connection")).as("the last response on a kept-alive connection").isEqualTo("close");
      }
      for (RawHttp http : slowConnections) {
        assertThat(http.isClosedByPeer()).as("closed after its last response").isTrue();
        http.close();
      }
      closing.get(30, TimeUnit.SECONDS);

      // the WebSocket was closed at the end of the grace period
      assertThat(inbox.closed).succeedsWithin(Duration.ofSeconds(10));
      assertThat(logs.text()).contains("closing WebSocket to /ws from /127.0.0.1:")
          .contains("at the end of the shutdown grace period " + GRACE);

      // zero failures: every request the upstream received was answered, and nothing else was answered
      List<String> answered = new ArrayList<>();
      for (Client c : clients) {
        assertThat(c.failures).isEmpty();
        assertThat(c.answered).isNotEmpty();
        assertThat(c.closedAfter).as("the proxy ended the connection").isTrue();
        assertThat(c.newConnectionRefused).as("a new connection is refused").isTrue();
        answered.addAll(c.answered);
      }
      for (int i = 0; i < 3; i++) {
        answered.add("/first/" + i);
        answered.add("/slow/" + i);
      }
      assertThat(received.stream().filter(p -> !p.equals("/ws"))).containsExactlyInAnyOrderElementsOf(answered);

      // nothing left: no connection to the upstream, no thread of the proxy
      await("the upstream sees no connection left", () -> upstreamOpenConnections() == 0);
      Set<Thread> left = threads();
      left.removeAll(before);
      for (Thread t : left) {
        if (proxysOwn(t.getName())) {
          t.join(5000);
        }
      }
      assertThat(left.stream().filter(Thread::isAlive).map(Thread::getName).filter(this::proxysOwn)).isEmpty();
      assertThat(proxy.status().state()).isEqualTo(ProxyStatus.State.CLOSED);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void anHttp2ClientsStreamsCompleteThenItGetsGoAway() throws Exception {
    String up = startUpstream();
    ReverseProxyServer proxy = ReverseProxy.builder().http2(true).shutdownGracePeriod(Duration.ofSeconds(20))
        .addRoute(Route.any().to(up)).build().start();
    try (RawH2 h2 = RawH2.connect(proxy.port())) {
      h2.headers(1, true, RawH2.request("GET", "/slow/h2"));
      await("the stream reached the upstream", () -> slowArrived.get() == 1);

      CompletableFuture<Void> closing = CompletableFuture.runAsync(proxy::close);
      await("close() has begun", () -> proxy.status().state() == ProxyStatus.State.DRAINING);
      h2.headers(3, true, RawH2.request("GET", "/during"));
      RawH2.Result during = h2.await(3);
      assertThat(during.status).as("a stream opened after close() began: " + during).isEqualTo(200);
      assertThat(during.bodyText()).isEqualTo("/during");
      assertThat(closing).isNotDone();

      release.countDown();
      RawH2.Result r = h2.await(1);
      assertThat(r.status).as(r.toString()).isEqualTo(200);
      assertThat(r.ended).isTrue();
      assertThat(r.bodyText()).isEqualTo("/slow/h2");
      RawH2.Result end = h2.await(5);
      assertThat(end.goAway).as("GOAWAY with NO_ERROR once its streams are done: " + end).isEqualTo(0);
      closing.get(30, TimeUnit.SECONDS);
    } finally {
      proxy.close();
    }
  }

  @TempDir
  Path dir;

  @Test
  void aRequestOnAnOpenConnectionAfterCloseBeganIsServedWithConnectionClose() throws Exception {
    String up = startUpstream();
    TestCerts.Issued ca = TestCerts.ca(dir, "ca");
    TestCerts.Issued localhost = TestCerts.leaf(dir, "localhost", ca, "localhost", "localhost");
    ReverseProxyServer proxy = ReverseProxy.builder().shutdownGracePeriod(Duration.ofSeconds(20))
        .tls(ServerTls.builder().pem(localhost.chain(), localhost.key()).build())
        .addRoute(Route.any().to(up)).build().start();
    try (SSLSocket idle = (SSLSocket) TestCerts.trusting(ca).getSocketFactory().createSocket("127.0.0.1",
        proxy.port())) {
      // accepted, and TLS done, before close(); no request yet, so nothing tells the proxy it is idle
      idle.setSoTimeout(10_000);
      idle.startHandshake();
      try (SSLSocket inFlight = (SSLSocket) TestCerts.trusting(ca).getSocketFactory().createSocket("127.0.0.1",
          proxy.port())) {
        inFlight.setSoTimeout(10_000);
        OutputStream o = inFlight.getOutputStream();
        o.write(get("/slow/held").getBytes(StandardCharsets.US_ASCII));
        o.flush();
        await("a request keeps the proxy draining", () -> slowArrived.get() == 1);

        CompletableFuture<Void> closing = CompletableFuture.runAsync(proxy::close);
        await("close() has begun", () -> proxy.status().state() == ProxyStatus.State.DRAINING);

        OutputStream out = idle.getOutputStream();
        out.write(get("/late").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(idle.getInputStream(), StandardCharsets.ISO_8859_1));
        assertThat(in.readLine()).isEqualTo("HTTP/1.1 200 OK");
        List<String> head = new ArrayList<>();
        for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
          head.add(line.toLowerCase(java.util.Locale.ROOT));
        }
        assertThat(head).contains("connection: close");
        char[] body = new char[5];
        assertThat(in.read(body)).isEqualTo(5);
        assertThat(new String(body)).isEqualTo("/late");
        assertThat(in.read()).as("closed after it").isEqualTo(-1);
        assertThat(received).contains("/late");

        release.countDown();
        closing.get(30, TimeUnit.SECONDS);
      }
    } finally {
      proxy.close();
    }
  }
}
