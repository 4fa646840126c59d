package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.ServerTls;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class TlsListenerTest {
  @TempDir
  static Path dir;
  static Backends backends;
  static TestCerts.Issued ca;
  static TestCerts.Issued localhost;
  static SSLContext trustCa;

  @BeforeAll
  static void setUp() throws Exception {
    backends = Backends.start(1);
    ca = TestCerts.ca(dir, "ca");
    localhost = TestCerts.leaf(dir, "localhost", ca, "localhost", "localhost");
    trustCa = TestCerts.trusting(ca);
  }

  @AfterAll
  static void tearDown() {
    backends.close();
  }

  static ProxyServer proxy(ServerTls tls, boolean http2) {
    return ReverseProxy.builder().tls(tls).http2(http2).addRoute(Route.any().to(backends.url(0))).build().start();
  }

  static HttpClient client(HttpClient.Version version, String... protocols) {
    SSLParameters p = trustCa.getDefaultSSLParameters();
    if (protocols.length > 0) {
      p.setProtocols(protocols);
    }
    return HttpClient.newBuilder().sslContext(trustCa).sslParameters(p).version(version)
        .connectTimeout(Duration.ofSeconds(5)).build();
  }

  static ServerTls localhostTls() {
    return ServerTls.builder().pem(localhost.chain(), localhost.key()).build();
  }

  @Test
  void tls13HandshakeWithTheJdkClientUsesTlsAes128GcmSha256WhenOffered() throws Exception {
    try (ProxyServer proxy = proxy(localhostTls(), false)) {
      SSLParameters p = new SSLParameters(new String[] {"TLS_AES_128_GCM_SHA256"}, new String[] {"TLSv1.3"});
      HttpClient c = HttpClient.newBuilder().sslContext(trustCa).sslParameters(p).version(HttpClient.Version.HTTP_1_1).build();
      HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/tls13")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.sslSession().orElseThrow().getProtocol()).isEqualTo("TLSv1.3");
      assertThat(r.sslSession().orElseThrow().getCipherSuite()).isEqualTo("TLS_AES_128_GCM_SHA256");
    }
    assertThat(backends.get(0).findAll(getRequestedFor(urlEqualTo("/tls13"))).get(0).getHeader("X-Forwarded-Proto"))
        .isEqualTo("https");
  }

  @Test
  void tls12HandshakeWithTheJdkClient() throws Exception {
    try (ProxyServer proxy = proxy(localhostTls(), false)) {
      HttpResponse<String> r = client(HttpClient.Version.HTTP_1_1, "TLSv1.2").send(
          HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/tls12")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.sslSession().orElseThrow().getProtocol()).isEqualTo("TLSv1.2");
    }
  }

  @Test
  void onlyTls13IsAcceptedWhenConfigured() throws Exception {
    ServerTls tls = ServerTls.builder().pem(localhost.chain(), localhost.key()).protocols("TLSv1.3").build();
    try (ProxyServer proxy = proxy(tls, false)) {
      assertThatThrownBy(() -> client(HttpClient.Version.HTTP_1_1, "TLSv1.2").send(
          HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/")).build(),
          HttpResponse.BodyHandlers.ofString())).isInstanceOf(javax.net.ssl.SSLException.class);
    }
  }

  @Test
  void configuredCipherSuitesAreTheOnlyOnesAccepted() throws Exception {
    ServerTls tls = ServerTls.builder().pem(localhost.chain(), localhost.key())
        .cipherSuites("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256").build();
    try (ProxyServer proxy = proxy(tls, false)) {
      SSLParameters only256 = new SSLParameters(new String[] {"TLS_AES_256_GCM_SHA384"}, new String[] {"TLSv1.3"});
      HttpClient refused = HttpClient.newBuilder().sslContext(trustCa).sslParameters(only256).build();
      assertThatThrownBy(() -> refused.send(HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/")).build(),
          HttpResponse.BodyHandlers.ofString())).isInstanceOf(javax.net.ssl.SSLException.class);
      HttpResponse<String> r = client(HttpClient.Version.HTTP_1_1, "TLSv1.2").send(
          HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.sslSession().orElseThrow().getCipherSuite()).isEqualTo("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    }
  }

  @Test
  void aPkcs12KeyStoreServesItsCertificate() throws Exception {
    KeyStore ks = dev.gatehouse.proxy.internal.tls.Pem.keyStore("test", localhost.chain(), localhost.key());
    KeyStore p12 = KeyStore.getInstance("PKCS12");
    p12.load(null, null);
    p12.setKeyEntry("site", ks.getKey("gatehouse", new char[0]), "changeit".toCharArray(), ks.getCertificateChain("gatehouse"));
    Path file = dir.resolve("site.p12");
    try (java.io.OutputStream out = Files.newOutputStream(file)) {
      p12.store(out, "changeit".toCharArray());
    }
    try (ProxyServer proxy = proxy(ServerTls.builder().pkcs12(file, "changeit").build(), false)) {
      assertThat(peerCertificate(proxy.port(), "localhost").getSerialNumber()).isEqualTo(localhost.cert().getSerialNumber());
    }
    assertThatThrownBy(() -> ServerTls.builder().pkcs12(file, "wrong").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tls.pkcs12: " + file + " (expected: the right password)");
  }

  @Test
  void sniSelectsTheCertificateForTheRequestedName() throws Exception {
    TestCerts.Issued a = TestCerts.leaf(dir, "a", ca, "a.test", "a.test");
    TestCerts.Issued b = TestCerts.leaf(dir, "b", ca, "b.test", "b.test");
    TestCerts.Issued wild = TestCerts.leaf(dir, "wild", ca, "wild", "*.wild.test");
    ServerTls tls = ServerTls.builder().pem(a.chain(), a.key()).pem(b.chain(), b.key()).pem(wild.chain(), wild.key()).build();
    try (ProxyServer proxy = proxy(tls, false)) {
      assertThat(peerCertificate(proxy.port(), "b.test").getSerialNumber()).isEqualTo(b.cert().getSerialNumber());
      assertThat(peerCertificate(proxy.port(), "a.test").getSerialNumber()).isEqualTo(a.cert().getSerialNumber());
      assertThat(peerCertificate(proxy.port(), "x.wild.test").getSerialNumber()).isEqualTo(wild.cert().getSerialNumber());
      assertThat(peerCertificate(proxy.port(), "unknown.test").getSerialNumber()).isEqualTo(a.cert().getSerialNumber());
      assertThat(peerCertificate(proxy.port(), null).getSerialNumber()).as("no SNI: the default (first)")
          .isEqualTo(a.cert().getSerialNumber());
    }
  }

  /** Handshakes with {@code sni} (none if null), sends one request, returns the server's certificate. */
  static X509Certificate peerCertificate(int port, String sni) throws Exception {
    SSLContext trustAll = SSLContext.getInstance("TLS");
    trustAll.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    try (SSLSocket s = (SSLSocket) trustAll.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      SSLParameters p = s.getSSLParameters();
      p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
      s.setSSLParameters(p);
      s.startHandshake();
      OutputStream out = s.getOutputStream();
      out.write(("GET /sni HTTP/1.1\r\nHost: " + (sni == null ? "127.0.0.1" : sni) + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      assertThat(response).startsWith("HTTP/1.1 200");
      return (X509Certificate) s.getSession().getPeerCertificates()[0];
    }
  }

  @Test
  void certificatesAreRotatedFromDiskWhileRequestsRunWithoutFailedHandshakes() throws Exception {
    Path rot = Files.createDirectories(dir.resolve("rotation"));
    TestCerts.Issued first = TestCerts.leaf(rot, "site", ca, "localhost", "localhost");
    ServerTls tls = ServerTls.builder().pem(first.chain(), first.key()).reloadInterval(Duration.ofMillis(20)).build();
    Set<java.math.BigInteger> seen = ConcurrentHashMap.newKeySet();
    List<String> failures = new CopyOnWriteArrayList<>();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger handshakes = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (ProxyServer proxy = proxy(tls, false)) {
      List<Future<?>> clients = new java.util.ArrayList<>();
      for (int t = 0; t < 2; t++) {
        clients.add(pool.submit(() -> {
          while (running.get()) {
            try {
              seen.add(peerCertificate(proxy.port(), "localhost").getSerialNumber());
              handshakes.incrementAndGet();
            } catch (Throwable e) {
              failures.add(e.toString());
            }
          }
          return null;
        }));
      }
      while (handshakes.get() < 20) {
        Thread.onSpinWait();
      }
      // certbot-style renewal: the chain is written first, then the key (a moment with a mismatched pair)
      TestCerts.Issued second = TestCerts.leaf(rot, "next", ca, "localhost", "localhost");
      TestCerts.writeAtomically(first.chain(), Files.readString(second.chain()));
      int before = handshakes.get();
      while (handshakes.get() < before + 10) {
        Thread.onSpinWait();
      }
      TestCerts.writeAtomically(first.key(), Files.readString(second.key()));
      long deadline = System.nanoTime() + 20_000_000_000L;
      while (!seen.contains(second.cert().getSerialNumber()) && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      before = handshakes.get();
      while (handshakes.get() < before + 10) {
        Thread.onSpinWait();
      }
      running.set(false);
      for (Future<?> f : clients) {
        f.get();
      }
      assertThat(seen).contains(first.cert().getSerialNumber(), second.cert().getSerialNumber());
    } finally {
      pool.shutdownNow();
    }
    assertThat(failures).isEmpty();
  }

  @Test
  void reloadTakesNewCertificatesAtOnceAndRejectsAKeyThatDoesNotMatch() throws Exception {
    Path d = Files.createDirectories(dir.resolve("manual"));
    TestCerts.Issued first = TestCerts.leaf(d, "site", ca, "localhost", "localhost");
    TestCerts.Issued other = TestCerts.leaf(d, "other", ca, "localhost", "localhost");
    ServerTls tls = ServerTls.builder().pem(first.chain(), first.key()).reloadInterval(Duration.ZERO).build();
    try (ProxyServer proxy = proxy(tls, false)) {
      assertThat(peerCertificate(proxy.port(), "localhost").getSerialNumber()).isEqualTo(first.cert().getSerialNumber());
      TestCerts.writeAtomically(first.key(), Files.readString(other.key()));
      assertThatThrownBy(tls::reload).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("tls.pem: " + first.key() + " (expected: the private key of " + first.chain() + ")");
      assertThat(peerCertificate(proxy.port(), "localhost").getSerialNumber()).isEqualTo(first.cert().getSerialNumber());
      TestCerts.writeAtomically(first.chain(), Files.readString(other.chain()));
      tls.reload();
      assertThat(peerCertificate(proxy.port(), "localhost").getSerialNumber()).isEqualTo(other.cert().getSerialNumber());
    }
  }

  @Test
  void http2ViaAlpnWithTheJdkClientGoesThroughTheSameRoutes() throws Exception {
    try (ProxyServer proxy = proxy(localhostTls(), true)) {
      HttpClient c = client(HttpClient.Version.HTTP_2);
      HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/h2?q=1")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("b0");
      HttpResponse<String> post = c.send(HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/h2post"))
          .POST(HttpRequest.BodyPublishers.ofString("x".repeat(100_000))).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(post.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(post.statusCode()).isEqualTo(200);
      HttpResponse<String> h1 = client(HttpClient.Version.HTTP_1_1).send(
          HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/h1")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(h1.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    }
    var got = backends.get(0).findAll(getRequestedFor(urlEqualTo("/h2?q=1"))).get(0);
    assertThat(got.getHeader("Host")).isEqualTo("localhost:" + got.getHeader("Host").split(":")[1]);
    assertThat(got.getHeader("Via")).isEqualTo("2 gatehouse");
    assertThat(backends.get(0).findAll(postRequestedFor(urlEqualTo("/h2post"))).get(0).getBody()).hasSize(100_000);
  }

  @Test
  void h2cWorksByUpgradeAndByPriorKnowledgeOnAPlainListener() throws Exception {
    try (ProxyServer proxy = ReverseProxy.builder().http2(true).addRoute(Route.any().to(backends.url(0))).build().start()) {
      HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/h2c")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
      try (Socket s = new Socket("127.0.0.1", proxy.port())) {
        s.setSoTimeout(5000);
        OutputStream out = s.getOutputStream();
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // empty SETTINGS
        out.flush();
        byte[] frame = s.getInputStream().readNBytes(9);
        assertThat(frame[3]).as("the server's first frame is SETTINGS").isEqualTo((byte) 4);
      }
    }
  }

  @Test
  void tlsSettingsAreValidated() throws Exception {
    assertThatThrownBy(() -> ServerTls.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("tls: no certificate (expected: pem(chain, key) or pkcs12(file, password))");
    assertThatThrownBy(() -> ServerTls.builder().protocols("SSLv9"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tls.protocols: SSLv9 (expected: one of [");
    assertThatThrownBy(() -> ServerTls.builder().cipherSuites("TLS_NOPE"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tls.cipherSuites: TLS_NOPE (expected: a suite the JDK supports, such as TLS_AES_128_GCM_SHA256)");
    Path missing = dir.resolve("missing.pem");
    assertThatThrownBy(() -> ServerTls.builder().pem(missing, localhost.key()).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tls.pem: " + missing + " (expected: a readable file)");
    assertThatThrownBy(() -> ServerTls.builder().pem(localhost.key(), localhost.key()).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tls.pem: " + localhost.key() + " (expected: PEM certificates, -----BEGIN CERTIFICATE-----)");
  }
}
