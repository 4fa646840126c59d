package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class EgressEnforcementTest {

  @Test
  void aLoopbackDestinationIsRefusedWithoutAnExplicitAllowRule() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("secret");
         ProxyServer proxy = Fwd.start(Fwd.builder())) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + up.port()
          + "/admin HTTP/1.1\r\nHost: 127.0.0.1:" + up.port() + "\r\n\r\n");

      assertThat(r.status).isEqualTo(403);
      assertThat(r.bodyText()).isEqualTo("Forbidden by egress policy: default deny loopback 127.0.0.0/8\n");
      assertThat(up.connections()).isZero();
    }
  }

  @Test
  void aNameResolvingToLoopbackIsRefusedToo() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("secret");
         ProxyServer proxy = Fwd.start(Fwd.builder()
             .resolver(host -> List.of(InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1}))))) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET http://innocent.example:" + up.port()
          + "/ HTTP/1.1\r\nHost: innocent.example:" + up.port() + "\r\n\r\n");

      assertThat(r.status).isEqualTo(403);
      assertThat(up.connections()).isZero();
    }
  }

  @Test
  void cloudMetadataAndLinkLocalAreRefusedWithoutConnecting() throws Exception {
    try (ProxyServer proxy = Fwd.start(Fwd.builder())) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(),
          "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n");
      assertThat(r.status).isEqualTo(403);
      assertThat(r.bodyText()).isEqualTo("Forbidden by egress policy: default deny cloud metadata 169.254.169.254/32\n");

      RawHttp.Response v6 = RawHttp.exchange(proxy.port(),
          "GET http://[fe80::1]/ HTTP/1.1\r\nHost: [fe80::1]\r\n\r\n");
      assertThat(v6.bodyText()).isEqualTo("Forbidden by egress policy: default deny link-local fe80::/10\n");
    }
  }

  @Test
  void aDeniedHostIsRefusedAndFiltersSeeTheDecisionAndRule() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(Fwd.builder()
             .resolver(host -> List.of(InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1})))
             .egress(EgressPolicy.allowPublic().allowAddresses("127.0.0.1").denyHosts("blocked.example"))
             .addFilter((exchange, chain) -> {
               EgressDecision d = exchange.attribute(ForwardProxy.EGRESS_DECISION).orElseThrow();
               seen.add(d.allowed() + " " + d.rule() + " " + exchange.attribute(AccessLog.POLICY_RULE).orElse("?"));
               return chain.proceed();
             }))) {
      RawHttp.Response denied = RawHttp.exchange(proxy.port(), "GET http://blocked.example:" + up.port()
          + "/ HTTP/1.1\r\nHost: blocked.example:" + up.port() + "\r\n\r\n");
      RawHttp.Response allowed = RawHttp.exchange(proxy.port(), "GET http://fine.example:" + up.port()
          + "/ HTTP/1.1\r\nHost: fine.example:" + up.port() + "\r\n\r\n");

      assertThat(denied.status).isEqualTo(403);
      assertThat(denied.bodyText()).isEqualTo("Forbidden by egress policy: deny host blocked.example\n");
      assertThat(allowed.status).isEqualTo(200);
      assertThat(seen).containsExactly("false deny host blocked.example deny host blocked.example",
          "true allow address 127.0.0.1 allow address 127.0.0.1");
      assertThat(up.nextRequest().header("host")).isEqualTo("fine.example:" + up.port());
    }
  }

  @Test
  void aNameThatAnswersDifferentlyTheSecondTimeCannotRebindPastThePolicy() throws Exception {
    // The good destination listens on 127.0.0.1 (allowed explicitly), the evil one on 127.0.0.2 (loopback: denied).
    // The resolver answers the allowed address first and the denied one on every later call.
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int port = probe.getLocalPort();
      probe.close();
      try (RawUpstream good = RawUpstream.keepAlive("good");
           TcpPeer evil = new TcpPeer(s -> s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"
               .getBytes(java.nio.charset.StandardCharsets.US_ASCII)))) {
        AtomicInteger calls = new AtomicInteger();
        InetAddress first = InetAddress.getByName("127.0.0.1");
        InetAddress later = InetAddress.getByName("127.0.0.2");
        try (ProxyServer proxy = Fwd.start(Fwd.builder()
                 .egress(EgressPolicy.allowPublic().allowHosts("127.0.0.1:" + good.port()))
                 .resolver(host -> List.of(calls.getAndIncrement() == 0 ? first : later)))) {
          RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET http://rebind.example:" + good.port()
              + "/ HTTP/1.1\r\nHost: rebind.example:" + good.port() + "\r\n\r\n");
          assertThat(r.status).isEqualTo(200);
          assertThat(r.bodyText()).isEqualTo("good");
          assertThat(calls.get()).isEqualTo(1); // resolved once, connected to what was checked

          RawHttp.Response second = RawHttp.exchange(proxy.port(), "GET http://rebind.example:" + good.port()
              + "/ HTTP/1.1\r\nHost: rebind.example:" + good.port() + "\r\n\r\n");
          assertThat(second.status).isEqualTo(403);
          assertThat(second.bodyText()).isEqualTo("Forbidden by egress policy: default deny loopback 127.0.0.0/8\n");
        }
        assertThat(evil.results).isEmpty();
      }
      assertThat(port).isPositive();
    }
  }

  @Test
  void rulesCanBeSwappedAtRuntimeUnderConcurrentRequests() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok")) {
      EgressPolicy open = Fwd.allowLoopback(up.port());
      EgressPolicy closed = EgressPolicy.allowPublic();
      AtomicReference<EgressPolicy> rules = new AtomicReference<>(open);
      try (ProxyServer proxy = Fwd.start(Fwd.builder().egress(rules::get))) {
        HttpClient client = Fwd.client(proxy);
        String url = "http://127.0.0.1:" + up.port() + "/";
        ExecutorService pool = Executors.newFixedThreadPool(4);
        ConcurrentHashMap<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        try {
          List<Future<?>> clients = new java.util.ArrayList<>();
          for (int t = 0; t < 4; t++) {
            clients.add(pool.submit(() -> {
              for (int i = 0; i < 40; i++) {
                int status = Fwd.send(client, Fwd.get(url).build()).statusCode();
                statuses.computeIfAbsent(status, k -> new AtomicInteger()).incrementAndGet();
                rules.set(i % 3 == 0 ? closed : open); // swaps race with the other threads' requests
              }
              return null;
            }));
          }
          for (Future<?> f : clients) {
            f.get();
          }
        } finally {
          pool.shutdownNow();
        }
        assertThat(statuses.keySet()).containsExactlyInAnyOrder(200, 403);
        assertThat(statuses.values().stream().mapToInt(AtomicInteger::get).sum()).isEqualTo(160);

        rules.set(closed);
        assertThat(Fwd.send(client, Fwd.get(url).build()).statusCode()).isEqualTo(403);
        rules.set(open);
        assertThat(Fwd.send(client, Fwd.get(url).build()).statusCode()).isEqualTo(200);
      }
    }
  }

  @Test
  void aRequestToTheProxysOwnAddressIsRefusedAsALoop() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = s.getLocalPort();
      s.close();
      try (ProxyServer proxy = Fwd.start(Fwd.builder().port(port).egress(Fwd.allowLoopback(port)))) {
        RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + port
            + "/ HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n");

        assertThat(r.status).isEqualTo(403);
        assertThat(r.bodyText()).isEqualTo("Forbidden by egress policy: loop: 127.0.0.1:" + port + " is this proxy\n");
      }
    }
  }

  @Test
  void transparentModeTakesTheDestinationFromHostAndAppliesThePolicy() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(Fwd.builder().transparent(true).egress(Fwd.allowLoopback(up.port())))) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET /page?q=1 HTTP/1.1\r\nHost: 127.0.0.1:" + up.port()
          + "\r\n\r\n");
      assertThat(r.status).isEqualTo(200);
      assertThat(up.nextRequest().requestLine).isEqualTo("GET /page?q=1 HTTP/1.1");

      RawHttp.Response denied = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n");
      assertThat(denied.status).isEqualTo(403);

      RawHttp.Response loop = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + proxy.port()
          + "\r\n\r\n");
      assertThat(loop.status).isEqualTo(403);
      assertThat(new InetSocketAddress("127.0.0.1", proxy.port()).getPort()).isEqualTo(proxy.port());
    }
  }
}
