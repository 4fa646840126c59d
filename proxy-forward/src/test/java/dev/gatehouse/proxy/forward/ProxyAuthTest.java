package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.net.Authenticator;
import java.net.PasswordAuthentication;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ProxyAuthTest {
  static final ProxyAuthenticator USERS = ProxyAuthenticator.users(Map.of("alice", "wonder land", "bob", "b0b"));

  static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static ForwardProxyBuilder authenticated(int port) {
    return Fwd.builder().egress(Fwd.allowLoopback(port)).proxyAuthentication("corp egress", USERS);
  }

  @Test
  void aRequestWithoutCredentialsGets407WithABasicChallenge() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(authenticated(up.port()))) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + up.port()
          + "/ HTTP/1.1\r\nHost: 127.0.0.1:" + up.port() + "\r\n\r\n");

      assertThat(r.status).isEqualTo(407);
      assertThat(r.header("proxy-authenticate")).isEqualTo("Basic realm=\"corp egress\", charset=\"UTF-8\"");
      assertThat(up.connections()).isZero();
    }
  }

  @Test
  void wrongOrMalformedCredentialsGet407() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(authenticated(up.port()))) {
      for (String credentials : List.of(basic("alice", "wrong"), basic("mallory", "b0b"), "Basic !!!", "Bearer abc",
          "Basic " + Base64.getEncoder().encodeToString("nocolon".getBytes(StandardCharsets.UTF_8)))) {
        RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + up.port()
            + "/ HTTP/1.1\r\nHost: 127.0.0.1:" + up.port() + "\r\nProxy-Authorization: " + credentials + "\r\n\r\n");
        assertThat(r.status).as(credentials).isEqualTo(407);
      }
      assertThat(up.connections()).isZero();
    }
  }

  @Test
  void validCredentialsPassTheUserIsKnownAndTheCredentialsNeverReachTheDestination() throws Exception {
    List<String> users = new CopyOnWriteArrayList<>();
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(authenticated(up.port()).addFilter((exchange, chain) -> {
           users.add(exchange.attribute(AccessLog.USER).orElse("none"));
           return chain.proceed();
         }))) {
      HttpResponse<String> r = Fwd.send(Fwd.client(proxy), Fwd.get("http://127.0.0.1:" + up.port() + "/x")
          .header("Proxy-Authorization", basic("alice", "wonder land")).build());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(users).containsExactly("alice");
      RawUpstream.Request seen = up.nextRequest();
      assertThat(seen.header("proxy-authorization")).isNull();
      assertThat(seen.headers).doesNotContainKey("proxy-authorization");
    }
  }

  @Test
  void theJdkClientAnswersTheChallengeWithItsAuthenticator() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(authenticated(up.port()))) {
      HttpClient client = HttpClient.newBuilder()
          .proxy(java.net.ProxySelector.of(new java.net.InetSocketAddress("127.0.0.1", proxy.port())))
          .authenticator(new Authenticator() {
            @Override
            protected PasswordAuthentication getPasswordAuthentication() {
              return getRequestorType() == RequestorType.PROXY
                  ? new PasswordAuthentication("bob", "b0b".toCharArray()) : null;
            }
          })
          .build();
      HttpResponse<String> r = Fwd.send(client, Fwd.get("http://127.0.0.1:" + up.port() + "/").build());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("ok");
    }
  }

  @Test
  void connectNeedsCredentialsToo() throws Exception {
    try (TcpPeer dest = new TcpPeer(s -> {
           s.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
           s.getOutputStream().flush();
           s.getInputStream().read();
         });
         ProxyServer proxy = Fwd.start(authenticated(dest.port()))) {
      String t = "127.0.0.1:" + dest.port();
      RawHttp.Response refused = RawHttp.exchange(proxy.port(), "CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n\r\n");
      assertThat(refused.status).isEqualTo(407);
      assertThat(refused.header("proxy-authenticate")).startsWith("Basic realm=\"corp egress\"");

      try (RawHttp c = RawHttp.connect(proxy.port())) {
        c.send("CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\nProxy-Authorization: " + basic("bob", "b0b") + "\r\n\r\n");
        assertThat(c.readResponse().status).isEqualTo(200);
        assertThat(new String(c.input().readNBytes(2), StandardCharsets.US_ASCII)).isEqualTo("hi");
      }
    }
  }

  @Test
  void anAsynchronousAuthenticatorMayRunOnTheBlockingExecutor() throws Exception {
    ProxyAuthenticator slow = (user, password, exchange) -> CompletableFuture.supplyAsync(
        () -> user.equals("carol") && password.equals("c") && !Thread.currentThread().getName().contains("I/O"),
        exchange.blockingExecutor());
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port()))
             .proxyAuthentication("r", slow))) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + up.port()
          + "/ HTTP/1.1\r\nHost: 127.0.0.1:" + up.port() + "\r\nProxy-Authorization: " + basic("carol", "c") + "\r\n\r\n");

      assertThat(r.status).isEqualTo(200);
    }
  }
}
