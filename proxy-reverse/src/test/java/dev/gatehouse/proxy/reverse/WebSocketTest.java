package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ServerTls;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.websockets.core.AbstractReceiveListener;
import io.undertow.websockets.core.BufferedTextMessage;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** WebSocket through the proxy: ws and wss, both directions, close from either side. */
@Timeout(60)
class WebSocketTest {
  @TempDir
  static Path dir;
  static TestCerts.Issued ca;
  static TestCerts.Issued localhost;
  static SSLContext trustCa;

  @BeforeAll
  static void certs() throws Exception {
    ca = TestCerts.ca(dir, "ca");
    localhost = TestCerts.leaf(dir, "localhost", ca, "localhost", "localhost");
    trustCa = TestCerts.trusting(ca);
  }

  /** An Undertow WebSocket server that echoes text ("close" makes it close the socket itself). */
  static final class EchoServer implements AutoCloseable {
    final Undertow undertow;
    final BlockingQueue<String> closes = new LinkedBlockingQueue<>();

    EchoServer(boolean tls) {
      Undertow.Builder b = Undertow.builder().setIoThreads(1).setWorkerThreads(2)
          .setHandler(Handlers.websocket((exchange, channel) -> {
            channel.getReceiveSetter().set(new AbstractReceiveListener() {
              @Override
              protected void onFullTextMessage(WebSocketChannel ch, BufferedTextMessage message) {
                String text = message.getData();
                if (text.equals("close")) {
                  WebSockets.sendClose(1000, "bye", ch, null);
                  return;
                }
                WebSockets.sendText("echo:" + text, ch, null);
              }

              @Override
              protected void onCloseMessage(io.undertow.websockets.core.CloseMessage cm, WebSocketChannel ch) {
                closes.add(cm.getCode() + " " + cm.getReason());
                super.onCloseMessage(cm, ch);
              }
            });
            channel.resumeReceives();
          }));
      if (tls) {
        b.addHttpsListener(0, "127.0.0.1", TestCerts.serving(localhost, null));
      } else {
        b.addHttpListener(0, "127.0.0.1");
      }
      undertow = b.build();
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

  /** Collects what a client WebSocket receives. */
  static final class Inbox implements WebSocket.Listener {
    final BlockingQueue<String> texts = new LinkedBlockingQueue<>();
    final CompletableFuture<String> closed = new CompletableFuture<>();
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        texts.add(partial.toString());
        partial.setLength(0);
      }
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
      closed.complete(status + " " + reason);
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      closed.completeExceptionally(error);
    }

    String next() throws InterruptedException {
      String s = texts.poll(10, TimeUnit.SECONDS);
      assertThat(s).as("a message within 10 s").isNotNull();
      return s;
    }
  }

  static void echoes(HttpClient client, String url) throws Exception {
    Inbox inbox = new Inbox();
    WebSocket ws = client.newWebSocketBuilder().buildAsync(URI.create(url), inbox).get(10, TimeUnit.SECONDS);
    ws.sendText("hello", true).get(5, TimeUnit.SECONDS);
    assertThat(inbox.next()).isEqualTo("echo:hello");
    String big = "x".repeat(200_000);
    ws.sendText(big, true).get(5, TimeUnit.SECONDS);
    assertThat(inbox.next()).isEqualTo("echo:" + big);
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
    assertThat(inbox.closed.get(10, TimeUnit.SECONDS)).isEqualTo("1000 done");
  }

  @Test
  void wsEchoesThroughTheProxyAndFiltersSeeTheUpgradeRequest() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    Filter observer = (exchange, chain) -> {
      seen.add(exchange.request().method() + " " + exchange.request().path() + " upgrade="
          + exchange.request().headers().get("Upgrade").orElse("-"));
      return chain.proceed();
    };
    try (EchoServer echo = new EchoServer(false);
        ProxyServer proxy = ReverseProxy.builder().addFilter(observer)
            .addRoute(Route.pathPrefix("/chat").to(UpstreamGroup.of("http://127.0.0.1:" + echo.port()))).build().start()) {
      echoes(HttpClient.newHttpClient(), "ws://127.0.0.1:" + proxy.port() + "/chat/room");
      assertThat(echo.closes.poll(10, TimeUnit.SECONDS)).as("the upstream saw the client's close").isEqualTo("1000 done");
    }
    assertThat(seen).containsExactly("GET /chat/room upgrade=websocket");
  }

  @Test
  void wssEchoesThroughATlsListenerToAPlainUpstream() throws Exception {
    ServerTls tls = ServerTls.builder().pem(localhost.chain(), localhost.key()).build();
    try (EchoServer echo = new EchoServer(false);
        ProxyServer proxy = ReverseProxy.builder().tls(tls).http2(true)
            .addRoute(Route.any().to(UpstreamGroup.of("http://127.0.0.1:" + echo.port()))).build().start()) {
      echoes(HttpClient.newBuilder().sslContext(trustCa).build(), "wss://localhost:" + proxy.port() + "/ws");
    }
  }

  @Test
  void wssEchoesToATlsUpstream() throws Exception {
    try (EchoServer echo = new EchoServer(true);
        ProxyServer proxy = ReverseProxy.builder()
            .addRoute(Route.any().to(UpstreamGroup.builder().add("https://localhost:" + echo.port())
                .tls(UpstreamTls.builder().trustPem(ca.chain()).build()).build())).build().start()) {
      echoes(HttpClient.newHttpClient(), "ws://127.0.0.1:" + proxy.port() + "/ws");
    }
  }

  @Test
  void aCloseFromTheUpstreamReachesTheClient() throws Exception {
    try (EchoServer echo = new EchoServer(false)) {
      UpstreamGroup group = UpstreamGroup.of("http://127.0.0.1:" + echo.port());
      try (ProxyServer proxy = ReverseProxy.builder().addRoute(Route.any().to(group)).build().start()) {
        Inbox inbox = new Inbox();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
            .buildAsync(URI.create("ws://127.0.0.1:" + proxy.port() + "/ws"), inbox).get(10, TimeUnit.SECONDS);
        assertThat(group.status().get(0).activeRequests()).as("an open WebSocket counts as in flight").isEqualTo(1);
        ws.sendText("close", true);
        assertThat(inbox.closed.get(10, TimeUnit.SECONDS)).isEqualTo("1000 bye");
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "ok");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (group.status().get(0).activeRequests() != 0 && System.nanoTime() < deadline) {
          Thread.onSpinWait();
        }
        assertThat(group.status().get(0).activeRequests()).isZero();
      }
    }
  }
}
