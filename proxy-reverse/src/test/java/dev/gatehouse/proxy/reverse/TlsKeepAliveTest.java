package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ServerTls;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.server.TlsReadInterest;
import dev.gatehouse.proxy.testsupport.IoThreads;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.RecordingListener;
import io.undertow.server.protocol.http.HttpServerConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HTTPS keep-alive connections keep their socket's read interest while a bodiless request is served
 * (no {@code epoll_ctl} per request); whatever the client sends or does meanwhile must still be handled
 * after the exchange, in TLS 1.2 and 1.3 alike. Runs with Conscrypt too (the {@code tls-conscrypt}
 * execution).
 */
@Timeout(60)
class TlsKeepAliveTest {
  @TempDir
  Path dir;

  private ServerTls tls;
  private TestCerts.Issued ca;

  @BeforeEach
  void certs() throws Exception {
    ca = TestCerts.ca(dir, "ca");
    TestCerts.Issued localhost = TestCerts.leaf(dir, "localhost", ca, "localhost", "localhost");
    tls = ServerTls.builder().pem(localhost.chain(), localhost.key()).build();
  }

  private RawHttp connect(ReverseProxyServer proxy, String protocol) throws Exception {
    SSLContext ctx = TestCerts.trusting(ca);
    SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", proxy.port());
    s.setEnabledProtocols(new String[] {protocol});
    s.setSoTimeout(20_000);
    s.startHandshake();
    return RawHttp.over(s);
  }

  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void theSocketUnderTheTlsConduitKeepsItsReadInterestWhileABodilessRequestIsServed(String protocol)
      throws Exception {
    // the saving itself, seen from a filter (it runs during the exchange): without it Undertow has the
    // socket's reads off here, and every request costs two epoll_ctl
    List<Boolean> resumed = new CopyOnWriteArrayList<>();
    Filter probe = (ex, chain) -> {
      HttpServerConnection c = (HttpServerConnection) ((ExchangeImpl) ex).hse().getConnection();
      resumed.add(TlsReadInterest.socketReadsResumed(c));
      return chain.proceed();
    };
    try (RawUpstream up = RawUpstream.echoPath(null, null);
         ReverseProxyServer proxy = ReverseProxy.builder().tls(tls).ioThreads(1).addFilter(probe)
             .addRoute(Route.any().to(up.url())).build().start();
         RawHttp client = connect(proxy, protocol)) {
      for (int i = 0; i < 3; i++) {
        client.send("GET /r" + i + " HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(client.readResponse().bodyText()).isEqualTo("/r" + i);
      }
      assertThat(resumed).containsExactly(true, true, true);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void manyRequestsOnOneConnectionAreAllAnswered(String protocol) throws Exception {
    try (RawUpstream up = RawUpstream.echoPath(null, null);
         ReverseProxyServer proxy = ReverseProxy.builder().tls(tls).ioThreads(1).addRoute(Route.any().to(up.url()))
             .build().start();
         RawHttp client = connect(proxy, protocol)) {
      for (int i = 0; i < 300; i++) {
        client.send("GET /r" + i + " HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(client.readResponse().bodyText()).isEqualTo("/r" + i);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void aRequestSentWhileTheFirstIsInFlightIsAnsweredAfterItInOrder(String protocol) throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (RawUpstream up = RawUpstream.echoPath("/1", release);
         ReverseProxyServer proxy = ReverseProxy.builder().tls(tls).ioThreads(1).addRoute(Route.any().to(up.url()))
             .build().start();
         RawHttp client = connect(proxy, protocol)) {
      client.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
      assertThat(up.nextRequest().requestLine).startsWith("GET /1 ");
      client.send("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"); // while /1 waits for its upstream
      client.send("GET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
      // the proxy's only I/O thread must not spin on the readable socket meanwhile: another
      // connection is served at once
      try (RawHttp other = connect(proxy, protocol)) {
        other.send("GET /other HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(other.readResponse().bodyText()).isEqualTo("/other");
      }
      // ... nor at all: the readable socket is parked, not polled. A measured interval, not a timing
      // assertion: a parked thread uses no CPU however loaded the machine is; a spinning one uses it all
      long cpu = IoThreads.cpuNanos();
      new CountDownLatch(1).await(300, TimeUnit.MILLISECONDS);
      assertThat((IoThreads.cpuNanos() - cpu) / 1_000_000).as("I/O thread CPU ms while the data waits").isLessThan(100);
      release.countDown();

      assertThat(client.readResponse().bodyText()).isEqualTo("/1");
      assertThat(client.readResponse().bodyText()).isEqualTo("/2");
      assertThat(client.readResponse().bodyText()).isEqualTo("/3");
      assertThat(up.nextRequest().requestLine).startsWith("GET /other ");
      assertThat(up.nextRequest().requestLine).startsWith("GET /2 ");
      assertThat(up.nextRequest().requestLine).startsWith("GET /3 ");
    }
  }

  @Test
  void aClientThatClosesWhileItsRequestIsInFlightLeavesNothingBehind() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    RecordingListener rec = new RecordingListener();
    try (RawUpstream up = RawUpstream.start(c -> {
          RawUpstream.Request r;
          while ((r = c.readRequest()) != null) {
            if (r.requestLine.startsWith("GET /held ")) {
              release.await(10, TimeUnit.SECONDS);
            }
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
          }
        });
         ReverseProxyServer proxy = ReverseProxy.builder().tls(tls).ioThreads(1).addListener(rec)
             .addRoute(Route.any().to(up.url())).build().start()) {
      try (RawHttp client = connect(proxy, "TLSv1.3")) {
        client.send("GET /held HTTP/1.1\r\nHost: a\r\n\r\n");
        up.nextRequest();
        // close_notify and FIN while the upstream holds the answer (close() itself would wait for the
        // proxy's close_notify, which it sends once the exchange is over)
        client.socket().shutdownOutput();
        release.countDown();
        rec.awaitEnded(1);
        rec.await("connectionClosed");
      }

      try (RawHttp next = connect(proxy, "TLSv1.3")) {
        next.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(next.readResponse().bodyText()).isEqualTo("ok");
      }
      assertThat(up.nextRequest().requestLine).startsWith("GET /after ");
    }
  }

  /**
   * TLS 1.2 renegotiation started by the client while a request is in flight: the request is answered,
   * then the new handshake is refused and the connection closed, with the JDK's TLS as with Conscrypt
   * (BoringSSL refuses renegotiation itself). Accepted, it could leave the next request on the
   * connection unanswered (Undertow's conduit); a renegotiation is also handshake CPU an attacker gets
   * for free, which is why nginx refuses it too.
   */
  @Test
  void aClientsRenegotiationIsRefusedOnceTheRequestInFlightIsAnswered() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (RawUpstream up = RawUpstream.echoPath("/1", release);
         ReverseProxyServer proxy = ReverseProxy.builder().tls(tls).ioThreads(1).addRoute(Route.any().to(up.url()))
             .build().start()) {
      try (RawHttp client = connect(proxy, "TLSv1.2")) {
        client.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(up.nextRequest().requestLine).startsWith("GET /1 ");
        CompletableFuture<Void> renegotiation = CompletableFuture.runAsync(() -> {
          try {
            ((SSLSocket) client.socket()).startHandshake();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
        release.countDown();

        String first = null;
        try {
          first = client.readResponse().bodyText();
        } catch (IOException reportedInstead) {
          // the JDK's client may report the refusal in place of the data that came before it
        }
        if (first != null) {
          assertThat(first).isEqualTo("/1");
        }
        // (the JDK's startHandshake() on an established connection only sends the ClientHello)
        try {
          renegotiation.get(20, TimeUnit.SECONDS);
        } catch (ExecutionException alreadyClosed) {
          // fine: the refusal came first
        }
        // refused: the connection is closed, not left half-renegotiated with the next request unanswered
        int next;
        try {
          client.send("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
          next = client.input().read();
        } catch (SocketTimeoutException hung) {
          throw new AssertionError("the connection hangs after the renegotiation", hung);
        } catch (IOException closed) {
          next = -1;
        }
        assertThat(next).as("closed").isEqualTo(-1);
      }
      try (RawHttp next = connect(proxy, "TLSv1.2")) {
        next.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(next.readResponse().bodyText()).isEqualTo("/after");
      }
      assertThat(up.nextRequest().requestLine).startsWith("GET /after ");
    }
  }
}
