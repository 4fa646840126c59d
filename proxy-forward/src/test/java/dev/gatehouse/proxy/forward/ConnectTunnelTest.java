package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.HttpsURLConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ConnectTunnelTest {

  static RawHttp connect(ProxyServer proxy, String target) throws Exception {
    RawHttp c = RawHttp.connect(proxy.port());
    c.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
    return c;
  }

  @Test
  void httpsUrlConnectionFetchesFromALocalTlsOriginThroughATunnel() throws Exception {
    try (TlsOrigin origin = new TlsOrigin();
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port())))) {
      HttpsURLConnection c = (HttpsURLConnection) new URL(origin.url("/secret")).openConnection(
          new Proxy(Proxy.Type.HTTP, new InetSocketAddress("127.0.0.1", proxy.port())));
      c.setSSLSocketFactory(TlsOrigin.clientContext().getSocketFactory());
      c.setConnectTimeout(5000);
      c.setReadTimeout(10_000);
      try (InputStream in = c.getInputStream()) {
        assertThat(c.getResponseCode()).isEqualTo(200);
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("secure hello /secret");
      } finally {
        c.disconnect();
      }
    }
  }

  @Test
  void jdkHttpClientPostsThroughATunnelAndTheBodyArrivesIntact() throws Exception {
    try (TlsOrigin origin = new TlsOrigin();
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(origin.port())))) {
      HttpClient client = HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .sslContext(TlsOrigin.clientContext())
          .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxy.port())))
          .connectTimeout(Duration.ofSeconds(5))
          .build();
      String body = "x".repeat(200_000);
      HttpResponse<String> r = client.send(Fwd.get(origin.url("/echo"))
          .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(body);
    }
  }

  @Test
  void connectAnswersTwoHundredWithoutFramingAndPipesBothWays() throws Exception {
    try (TcpPeer dest = new TcpPeer(s -> {
           byte[] ping = s.getInputStream().readNBytes(4);
           s.getOutputStream().write(("pong:" + new String(ping, StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII));
           s.getOutputStream().flush();
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port())));
         RawHttp c = connect(proxy, "127.0.0.1:" + dest.port())) {
      RawHttp.Response r = c.readResponse();
      assertThat(r.status).isEqualTo(200);
      assertThat(r.headers).doesNotContainKeys("transfer-encoding");
      c.send("ping");
      assertThat(new String(c.input().readNBytes(9), StandardCharsets.US_ASCII)).isEqualTo("pong:ping");
      assertThat(c.input().read()).isEqualTo(-1); // the destination closed: so does the tunnel
    }
  }

  @Test
  void bytesSentRightAfterTheConnectHeadAreNotLost() throws Exception {
    try (TcpPeer dest = new TcpPeer(s -> {
           byte[] hello = s.getInputStream().readNBytes(5);
           s.getOutputStream().write(hello);
           s.getOutputStream().flush();
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port())));
         RawHttp c = RawHttp.connect(proxy.port())) {
      String t = "127.0.0.1:" + dest.port();
      c.send("CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n\r\nhello");

      assertThat(c.readResponse().status).isEqualTo(200);
      assertThat(new String(c.input().readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("hello");
    }
  }

  @Test
  void anHttp10ConnectIsTunnelledToo() throws Exception {
    try (TcpPeer dest = new TcpPeer(s -> {
           s.getOutputStream().write("banner".getBytes(StandardCharsets.US_ASCII));
           s.getOutputStream().flush();
           s.getInputStream().read();
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port())));
         RawHttp c = RawHttp.connect(proxy.port())) {
      c.send("CONNECT 127.0.0.1:" + dest.port() + " HTTP/1.0\r\n\r\n");

      assertThat(c.readResponse().status).isEqualTo(200);
      assertThat(new String(c.input().readNBytes(6), StandardCharsets.US_ASCII)).isEqualTo("banner");
    }
  }

  @Test
  void halfCloseFromTheClientReachesTheDestinationAndTheAnswerStillComesBack() throws Exception {
    try (TcpPeer dest = new TcpPeer(s -> {
           byte[] all = s.getInputStream().readAllBytes(); // until the client's FIN
           s.getOutputStream().write(("got " + all.length).getBytes(StandardCharsets.US_ASCII));
           s.getOutputStream().flush();
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port())));
         RawHttp c = connect(proxy, "127.0.0.1:" + dest.port())) {
      assertThat(c.readResponse().status).isEqualTo(200);
      c.send("0123456789");
      c.socket().shutdownOutput();

      assertThat(new String(c.input().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("got 10");
    }
  }

  @Test
  void whenTheClientGoesAwayTheDestinationConnectionIsClosed() throws Exception {
    java.util.concurrent.BlockingQueue<String> ended = new java.util.concurrent.LinkedBlockingQueue<>();
    try (TcpPeer dest = new TcpPeer(s -> {
           s.getOutputStream().write('!');
           s.getOutputStream().flush();
           try {
             while (s.getInputStream().read() >= 0) {
               // until the proxy closes its side
             }
           } catch (SocketException e) {
             // reset counts as the end too
           }
           ended.add("ended");
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port())))) {
      RawHttp c = connect(proxy, "127.0.0.1:" + dest.port());
      assertThat(c.readResponse().status).isEqualTo(200);
      assertThat(c.input().read()).isEqualTo('!');
      c.socket().setSoLinger(true, 0);
      c.close(); // reset
      assertThat(ended.poll(10, TimeUnit.SECONDS)).isEqualTo("ended");
    }
  }

  @Test
  void anIdleTunnelIsClosedAfterTheTunnelIdleTimeout() throws Exception {
    try (TcpPeer dest = new TcpPeer(s -> s.getInputStream().read());
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port()))
             .tunnelIdleTimeout(Duration.ofMillis(300)));
         RawHttp c = connect(proxy, "127.0.0.1:" + dest.port())) {
      assertThat(c.readResponse().status).isEqualTo(200);
      long start = System.nanoTime();

      assertThat(c.input().read()).isEqualTo(-1);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(200), Duration.ofSeconds(5));
    }
  }

  @Test
  void aTunnelCarryingDataOneWayOutlivesTheClientConnectionsIdleTimeout() throws Exception {
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
    try (TcpPeer dest = new TcpPeer(s -> {
           OutputStream out = s.getOutputStream();
           java.util.concurrent.ScheduledFuture<?> f = ticker.scheduleAtFixedRate(() -> {
             try {
               out.write('.');
               out.flush();
             } catch (Exception e) {
               throw new RuntimeException(e);
             }
           }, 0, 50, TimeUnit.MILLISECONDS);
           s.getInputStream().read();
           f.cancel(false);
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port()))
             .idleTimeout(Duration.ofMillis(300)));
         RawHttp c = connect(proxy, "127.0.0.1:" + dest.port())) {
      assertThat(c.readResponse().status).isEqualTo(200);
      // 30 ticks = about 1.5 s of a silent client, five times the client idle timeout
      assertThat(c.input().readNBytes(30)).hasSize(30);
    } finally {
      ticker.shutdownNow();
    }
  }

  @Test
  void connectToAPortThatIsNotAllowedIsRefusedWith403() throws Exception {
    try (TcpPeer dest = new TcpPeer(s -> { });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(EgressPolicy.allowPublic().allowAddresses("127.0.0.1")));
         RawHttp c = connect(proxy, "127.0.0.1:" + dest.port())) {
      RawHttp.Response r = c.readResponse();

      assertThat(r.status).isEqualTo(403);
      assertThat(r.bodyText()).isEqualTo("Forbidden by egress policy: deny connect port " + dest.port()
          + " (allowed: 443)\n");
    }
  }

  @Test
  void connectToAClosedPortAnswers502() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    try (ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(port)));
         RawHttp c = connect(proxy, "127.0.0.1:" + port)) {
      assertThat(c.readResponse().status).isEqualTo(502);
    }
  }

  @Test
  void connectToADestinationThatDoesNotAcceptInTimeAnswers504() throws Exception {
    // A listener with a full accept queue: the kernel drops further SYNs, so connecting hangs.
    List<Socket> fillers = new ArrayList<>();
    try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      for (int i = 0; i < 8; i++) {
        Socket s = new Socket();
        try {
          s.connect(full.getLocalSocketAddress(), 200);
          fillers.add(s);
        } catch (java.io.IOException e) {
          s.close();
          break;
        }
      }
      try (ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(full.getLocalPort()))
               .connectTimeout(Duration.ofMillis(300)));
           RawHttp c = connect(proxy, "127.0.0.1:" + full.getLocalPort())) {
        assertThat(c.readResponse().status).isEqualTo(504);
      }
    } finally {
      for (Socket s : fillers) {
        s.close();
      }
    }
  }

  @Test
  void connectToLoopbackIsRefusedByDefault() throws Exception {
    try (TcpPeer dest = new TcpPeer(s -> { });
         ProxyServer proxy = Fwd.start(Fwd.builder());
         RawHttp c = connect(proxy, "127.0.0.1:" + dest.port())) {
      RawHttp.Response r = c.readResponse();

      assertThat(r.status).isEqualTo(403);
      assertThat(r.bodyText()).isEqualTo("Forbidden by egress policy: default deny loopback 127.0.0.0/8\n");
    }
  }
}
