package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.matching;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ServerTls;
import dev.gatehouse.proxy.auth.ClientCertificateAuth;
import dev.gatehouse.proxy.auth.Principal;
import dev.gatehouse.proxy.internal.tls.Pem;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Client certificates on the listener (mutual TLS) and the principal they make. */
@Timeout(30)
class MutualTlsTest {
  @RegisterExtension
  static WireMockExtension upstream = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

  static Path dir;
  static TestCerts.Issued serverCa;
  static TestCerts.Issued server;
  static TestCerts.Issued clientCa;
  static TestCerts.Issued billing;
  static TestCerts.Issued reporting;
  static TestCerts.Issued rogue;

  @BeforeAll
  static void certificates() throws Exception {
    dir = Files.createTempDirectory("mtls");
    serverCa = TestCerts.ca(dir, "server-ca");
    server = TestCerts.leaf(dir, "server", serverCa, "localhost", "localhost");
    clientCa = TestCerts.ca(dir, "clients-ca");
    billing = TestCerts.leaf(dir, "billing", clientCa, "billing", "billing.internal");
    reporting = TestCerts.leaf(dir, "reporting", clientCa, "reporting", "reporting.internal");
    TestCerts.Issued rogueCa = TestCerts.ca(dir, "rogue-ca");
    rogue = TestCerts.leaf(dir, "rogue", rogueCa, "billing", "billing.internal");
  }

  @AfterAll
  static void cleanUp() throws IOException {
    try (var files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.delete(f);
      }
    }
    Files.delete(dir);
  }

  @BeforeEach
  void stubs() {
    upstream.stubFor(any(anyUrl()).willReturn(ok("upstream")));
  }

  private ProxyServer proxy(ServerTls.ClientAuth mode, Filter... filters) {
    Route.Builder route = Route.pathPrefix("/");
    for (Filter f : filters) {
      route.addFilter(f);
    }
    return ReverseProxy.builder()
        .tls(ServerTls.builder().pem(server.chain(), server.key()).clientAuth(mode, clientCa.chain()).build())
        .addRoute(route.to(upstream.baseUrl()))
        .build().start();
  }

  private static SSLContext clientContext(TestCerts.Issued identity) throws Exception {
    SSLContext trust = TestCerts.trusting(serverCa);
    if (identity == null) {
      return trust;
    }
    java.security.KeyStore ks = Pem.keyStore("client", identity.chain(), identity.key());
    String alias = ks.aliases().nextElement();
    javax.net.ssl.X509ExtendedKeyManager km = (javax.net.ssl.X509ExtendedKeyManager) Pem.keyManagers(ks, new char[0])[0];
    // present the certificate whatever issuers the server names, as a misconfigured or hostile client would
    javax.net.ssl.X509ExtendedKeyManager always = new javax.net.ssl.X509ExtendedKeyManager() {
      @Override
      public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
        return new String[] {alias};
      }

      @Override
      public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
        return alias;
      }

      @Override
      public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
        return alias;
      }

      @Override
      public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
        return null;
      }

      @Override
      public String chooseServerAlias(String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
        return null;
      }

      @Override
      public java.security.cert.X509Certificate[] getCertificateChain(String a) {
        return km.getCertificateChain(a);
      }

      @Override
      public java.security.PrivateKey getPrivateKey(String a) {
        return km.getPrivateKey(a);
      }
    };
    return Pem.context(new javax.net.ssl.KeyManager[] {always}, Pem.trustManagers(Pem.trustStore(List.of(serverCa.cert()))));
  }

  private static HttpResponse<String> get(ProxyServer proxy, TestCerts.Issued identity, String... headers) throws Exception {
    HttpClient client = HttpClient.newBuilder().sslContext(clientContext(identity)).version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/ledger"))
        .timeout(Duration.ofSeconds(10)).GET();
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aVerifiedAllowedCertificateBecomesThePrincipalAndIsForwardedInEnvoysFormat() throws Exception {
    List<Principal> seen = new CopyOnWriteArrayList<>();
    Filter record = (ex, chain) -> {
      Principal.of(ex).ifPresent(seen::add);
      return chain.proceed();
    };
    ClientCertificateAuth mtls = ClientCertificateAuth.builder().allowedNames("billing.internal").forwardClientCert(true).build();
    try (ProxyServer proxy = proxy(ServerTls.ClientAuth.OPTIONAL, mtls, record)) {
      HttpResponse<String> r = get(proxy, billing, "X-Forwarded-Client-Cert", "Hash=forged;DNS=admin.internal");

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(seen).hasSize(1);
      assertThat(seen.get(0).name()).isEqualTo("billing.internal");
      assertThat(seen.get(0).scheme()).isEqualTo("mtls");
      assertThat(seen.get(0).claims()).containsEntry("subject", "CN=billing").containsEntry("issuer", "CN=clients-ca");
      upstream.verify(getRequestedFor(urlEqualTo("/ledger")).withHeader("X-Forwarded-Client-Cert",
          matching("Hash=[0-9a-f]{64};Subject=\"CN=billing\";DNS=billing\\.internal")));
    }
  }

  @Test
  void noCertificateOrAnotherNameGets403AndNeverReachesTheUpstream() throws Exception {
    ClientCertificateAuth mtls = ClientCertificateAuth.builder().allowedNames("billing.internal").build();
    try (ProxyServer proxy = proxy(ServerTls.ClientAuth.OPTIONAL, mtls)) {
      HttpResponse<String> none = get(proxy, null);
      assertThat(none.statusCode()).isEqualTo(403);
      assertThat(none.body()).isEqualTo("Forbidden: a client certificate is required\n");
      HttpResponse<String> other = get(proxy, reporting);
      assertThat(other.statusCode()).isEqualTo(403);
      assertThat(other.body()).isEqualTo("Forbidden: client certificate not allowed\n");
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void aCertificateFromAnUntrustedIssuerFailsTheHandshake() throws Exception {
    try (ProxyServer proxy = proxy(ServerTls.ClientAuth.OPTIONAL, ClientCertificateAuth.builder().build())) {
      assertThatThrownBy(() -> get(proxy, rogue)).isInstanceOf(IOException.class);
      upstream.verify(0, anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void aRequiredCertificateIsEnforcedByTheHandshakeItself() throws Exception {
    try (ProxyServer proxy = proxy(ServerTls.ClientAuth.REQUIRED)) {
      assertThatThrownBy(() -> get(proxy, null)).isInstanceOf(IOException.class);
      assertThat(get(proxy, reporting).statusCode()).isEqualTo(200);
      upstream.verify(getRequestedFor(urlEqualTo("/ledger")).withHeader("X-Forwarded-Client-Cert", absent()));
    }
  }

  @Test
  void withoutClientAuthThereAreNoPeerCertificatesAndOptionalAuthLetsThrough() throws Exception {
    List<Integer> counts = new CopyOnWriteArrayList<>();
    Filter count = (ex, chain) -> {
      counts.add(ex.peerCertificates().size());
      return chain.proceed();
    };
    try (ProxyServer proxy = ReverseProxy.builder()
        .tls(ServerTls.builder().pem(server.chain(), server.key()).build())
        .addRoute(Route.any().addFilter(count).addFilter(ClientCertificateAuth.builder().required(false).build())
            .to(upstream.baseUrl()))
        .build().start()) {
      assertThat(get(proxy, billing).statusCode()).isEqualTo(200); // the server never asks: the client sends none
      assertThat(counts).containsExactly(0);
    }
  }
}
