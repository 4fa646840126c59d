package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Per-user egress and interception rules, with the user's group looked up asynchronously. */
@Timeout(60)
class UserPolicyTest {
  private final ExecutorService directoryThreads = Executors.newSingleThreadExecutor(r -> new Thread(r, "directory"));

  @BeforeAll
  static void cas() throws Exception {
    InterceptTest.originCa();
  }

  @AfterEach
  void stop() {
    directoryThreads.shutdownNow();
  }

  static String basic(String user) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":pw").getBytes(StandardCharsets.UTF_8));
  }

  static final Map<String, String> PASSWORDS = Map.of("alice", "pw", "bob", "pw", "carol", "pw");

  /** alice is an engineer, bob a contractor; the directory answers on its own thread, later. */
  UserPolicies directory(int... loopbackPorts) {
    EgressPolicy engineers = EgressPolicy.allowPublic();
    for (int p : loopbackPorts) {
      engineers = engineers.allowHosts("127.0.0.1:" + p);
    }
    UserPolicy engineer = UserPolicy.of("engineers", engineers);
    UserPolicy contractor = UserPolicy.of("contractors", EgressPolicy.denyAll().allowHosts("partner.example"))
        .interception(InterceptionPolicy.interceptAll());
    Map<String, String> groups = Map.of("alice", "engineers", "bob", "contractors");
    return (user, exchange) -> CompletableFuture.supplyAsync(() -> groups.get(user), directoryThreads)
        .thenApply(group -> "engineers".equals(group) ? engineer : "contractors".equals(group) ? contractor : null);
  }

  @Test
  void eachUserIsDecidedByTheRulesOfTheirGroupAndDenialsNameUserAndRule() throws Exception {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    try (RawUpstream upstream = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.builder()
             .proxyAuthentication("corp", ProxyAuthenticator.users(PASSWORDS))
             .userPolicies(directory(upstream.port()))
             .accessLog(AccessLog.sink(lines::add, AccessLog.Format.JSON_LINES))
             .build().start()) {
      String get = "GET http://127.0.0.1:" + upstream.port() + "/x HTTP/1.1\r\nHost: 127.0.0.1\r\nProxy-Authorization: ";

      RawHttp.Response alice = RawHttp.exchange(proxy.port(), get + basic("alice") + "\r\nConnection: close\r\n\r\n");
      RawHttp.Response bob = RawHttp.exchange(proxy.port(), get + basic("bob") + "\r\nConnection: close\r\n\r\n");

      assertThat(alice.status).isEqualTo(200);
      assertThat(bob.status).isEqualTo(403);
      assertThat(new String(bob.body, StandardCharsets.UTF_8)).isEqualTo("Forbidden by egress policy: contractors: "
          + "default deny loopback 127.0.0.0/8\n");
      assertThat(upstream.nextRequest().requestLine).isEqualTo("GET /x HTTP/1.1");
      assertThat(upstream.requests).isEmpty(); // bob's request never left
      String a = lines.poll(10, TimeUnit.SECONDS);
      String b = lines.poll(10, TimeUnit.SECONDS);
      assertThat(List.of(a, b)).anySatisfy(l -> assertThat(l).contains("\"user\":\"alice\"", "\"status\":200",
          "\"decision\":\"allow\"", "\"rule\":\"engineers: allow address 127.0.0.1:" + upstream.port() + "\""));
      assertThat(List.of(a, b)).anySatisfy(l -> assertThat(l).contains("\"user\":\"bob\"", "\"status\":403",
          "\"decision\":\"deny\"", "\"rule\":\"contractors: default deny loopback 127.0.0.0/8\""));
    }
  }

  @Test
  void aUserWithoutAPolicyGets500AndNothingLeaves() throws Exception {
    try (RawUpstream upstream = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.builder()
             .proxyAuthentication("corp", ProxyAuthenticator.users(PASSWORDS))
             .userPolicies(directory(upstream.port()))
             .build().start()) {
      RawHttp.Response carol = RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + upstream.port()
          + "/x HTTP/1.1\r\nHost: 127.0.0.1\r\nProxy-Authorization: " + basic("carol") + "\r\n\r\n");

      assertThat(carol.status).isEqualTo(500);
      assertThat(upstream.requests).isEmpty();
    }
  }

  @Test
  void theInterceptionPolicyFollowsTheUserToo() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", false)) {
      EgressPolicy toOrigin = EgressPolicy.denyAll().allowAddresses("127.0.0.1").allowConnectPorts(origin.port());
      UserPolicies policies = UserPolicies.byUser(Map.of(
          "alice", UserPolicy.of("engineers", toOrigin).interception(InterceptionPolicy.interceptNone())),
          UserPolicy.of("everyone", toOrigin));
      try (ProxyServer proxy = Fwd.builder()
               .resolver(host -> List.of(InetAddress.getLoopbackAddress()))
               .proxyAuthentication("corp", ProxyAuthenticator.users(PASSWORDS))
               .userPolicies(policies)
               .intercept(InterceptTest.interception().build())
               .build().start()) {
        String target = "origin.test:" + origin.port();
        // alice's tunnels pass unread: she sees the origin's own certificate
        try (SSLSocket tls = tunnel(proxy, target, "alice", InterceptTest.originCa.trustingContext())) {
          assertThat(InterceptPolicyTest.peer(tls)).isEqualTo(origin.certificate);
        }
        // bob's are decrypted, and his requests are decided by "everyone"
        try (SSLSocket tls = tunnel(proxy, target, "bob", InterceptPolicyTest.ours())) {
          assertThat(InterceptPolicyTest.peer(tls).getIssuerX500Principal())
              .isEqualTo(InterceptTest.CA.certificate().getSubjectX500Principal());
          assertThat(InterceptPolicyTest.request(tls, target, "/bob")).startsWith("HTTP/1.1 200 ")
              .endsWith("hello /bob over HTTP/1.1");
        }
        assertThat(origin.next().path()).isEqualTo("/bob");
      }
    }
  }

  static SSLSocket tunnel(ProxyServer proxy, String target, String user, javax.net.ssl.SSLContext trust)
      throws Exception {
    RawHttp c = RawHttp.connect(proxy.port());
    c.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\nProxy-Authorization: " + basic(user)
        + "\r\n\r\n");
    assertThat(c.readResponse(true).status).isEqualTo(200);
    SSLSocket tls = (SSLSocket) trust.getSocketFactory().createSocket(c.socket(), "origin.test",
        c.socket().getPort(), true);
    tls.setSoTimeout(10_000);
    tls.startHandshake();
    return tls;
  }

  @Test
  void userPoliciesNeedAuthenticationAndReplaceTheOnePolicy() {
    UserPolicies p = UserPolicies.byUser(Map.of(), UserPolicy.of("all", EgressPolicy.allowPublic()));
    assertThatThrownBy(() -> ForwardProxy.builder().userPolicies(p).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("userPolicies: set without proxyAuthentication (expected: proxyAuthentication(...) as well, so "
            + "that requests have a user)");
    assertThatThrownBy(() -> ForwardProxy.builder().userPolicies(p).egress(EgressPolicy.denyAll())
        .proxyAuthentication("r", ProxyAuthenticator.users(PASSWORDS)).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("userPolicies conflicts with egress(...) (expected: one of them; every request is decided by its "
            + "user's UserPolicy)");
    assertThatThrownBy(() -> UserPolicy.of("bad\nname", EgressPolicy.allowPublic()))
        .hasMessage("name: \"bad\nname\" (expected: a name without control characters)");
  }
}
