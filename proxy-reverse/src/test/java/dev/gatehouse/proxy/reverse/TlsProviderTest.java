package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ServerTls;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The listener's TLS implementation. This class runs twice (see the pom): without Conscrypt on the class
 * path ({@code gatehouse.test.conscrypt=false}) and with it ({@code true}); the other TLS tests run in
 * both too, with whatever {@code AUTO} chose, which this class checks.
 */
@Timeout(60)
class TlsProviderTest {
  static final boolean CONSCRYPT = Boolean.getBoolean("gatehouse.test.conscrypt");

  @TempDir
  static Path dir;
  static Backends backends;
  static TestCerts.Issued localhost;
  static SSLContext trustCa;

  @BeforeAll
  static void setUp() throws Exception {
    backends = Backends.start(1);
    TestCerts.Issued ca = TestCerts.ca(dir, "ca");
    localhost = TestCerts.leaf(dir, "localhost", ca, "localhost", "localhost");
    trustCa = TestCerts.trusting(ca);
  }

  @AfterAll
  static void tearDown() {
    backends.close();
  }

  static ServerTls.Builder tls() {
    return ServerTls.builder().pem(localhost.chain(), localhost.key());
  }

  @Test
  void autoServesWithConscryptExactlyWhenItIsOnTheClassPath() {
    assertThat(System.getProperty("gatehouse.test.conscrypt")).as("set by the surefire execution").isNotNull();
    assertThat(tls().build().provider()).isEqualTo(CONSCRYPT ? ServerTls.Provider.CONSCRYPT : ServerTls.Provider.JDK);
  }

  @Test
  void eachProviderServesTls13AndTls12() throws Exception {
    for (ServerTls.Provider p : CONSCRYPT ? ServerTls.Provider.values()
        : new ServerTls.Provider[] {ServerTls.Provider.AUTO, ServerTls.Provider.JDK}) {
      ServerTls tls = tls().provider(p).build();
      assertThat(tls.provider()).isEqualTo(p == ServerTls.Provider.AUTO
          ? (CONSCRYPT ? ServerTls.Provider.CONSCRYPT : ServerTls.Provider.JDK) : p);
      try (ProxyServer proxy = ReverseProxy.builder().tls(tls).addRoute(Route.any().to(backends.url(0))).build()
          .start()) {
        for (String protocol : new String[] {"TLSv1.3", "TLSv1.2"}) {
          javax.net.ssl.SSLParameters params = trustCa.getDefaultSSLParameters();
          params.setProtocols(new String[] {protocol});
          HttpClient c = HttpClient.newBuilder().sslContext(trustCa).sslParameters(params)
              .connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1).build();
          HttpResponse<String> r = c.send(HttpRequest.newBuilder(
              URI.create("https://localhost:" + proxy.port() + "/" + p + "/" + protocol)).build(),
              HttpResponse.BodyHandlers.ofString());
          assertThat(r.statusCode()).isEqualTo(200);
          assertThat(r.sslSession().orElseThrow().getProtocol()).isEqualTo(protocol);
        }
      }
    }
  }

  @Test
  void conscryptRequiredIsConscryptOrAClearErrorNamingTheArtifact() {
    if (CONSCRYPT) {
      assertThat(tls().provider(ServerTls.Provider.CONSCRYPT).build().provider())
          .isEqualTo(ServerTls.Provider.CONSCRYPT);
    } else {
      assertThatThrownBy(() -> tls().provider(ServerTls.Provider.CONSCRYPT).build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("tls.provider: CONSCRYPT needs org.conscrypt:conscrypt-openjdk-uber (expected: the dependency "
              + "org.conscrypt:conscrypt-openjdk-uber added to the application, on a platform it covers, or AUTO or "
              + "JDK): org.conscrypt:conscrypt-openjdk-uber is not on the class path");
    }
  }

  @Test
  void restrictedTls13SuitesKeepTheJdkOnAutoAndFailOnConscrypt() {
    assertThat(tls().cipherSuites("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256").build()
        .provider()).isEqualTo(ServerTls.Provider.JDK);
    assertThatThrownBy(() -> tls().provider(ServerTls.Provider.CONSCRYPT)
        .cipherSuites("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256").build())
        .isInstanceOf(CONSCRYPT ? IllegalArgumentException.class : IllegalStateException.class)
        .hasMessageStartingWith(CONSCRYPT ? "tls.cipherSuites: [TLS_AES_128_GCM_SHA256, "
            + "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256] (expected: with Conscrypt, every TLS 1.3 suite"
            : "tls.provider: CONSCRYPT needs org.conscrypt:conscrypt-openjdk-uber");
  }

  @Test
  void aNullProviderIsRefused() {
    assertThatThrownBy(() -> ServerTls.builder().provider(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("provider");
  }
}
