package dev.gatehouse.proxy.internal.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;

/**
 * Choosing the listener's TLS implementation: Conscrypt found or not (a class loader that cannot see it),
 * a native library that does not load, settings Conscrypt cannot honour, and the messages that say so.
 */
class TlsProvidersTest {
  private static final List<String> DEFAULT_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
  private static final TlsProviders.Lookup MISSING = TlsProviders.lookUp(new ClassLoader(null) {});

  @Test
  void withoutTheJarConscryptIsMissingAndSaysWhy() {
    assertThat(MISSING.provider()).isNull();
    assertThat(MISSING.problem()).isEqualTo("org.conscrypt:conscrypt-openjdk-uber is not on the class path");
  }

  @Test
  void withTheJarConscryptIsFoundWithWhatItSupports() {
    // proxy-core has Conscrypt as an optional dependency: its tests see it
    TlsProviders.Lookup found = TlsProviders.conscrypt();
    assertThat(found.problem()).isNull();
    assertThat(found.provider().getName()).isEqualTo("Conscrypt");
    assertThat(found.version()).isEqualTo("2.5.2");
    assertThat(found.protocols()).contains("TLSv1.3", "TLSv1.2");
    assertThat(found.cipherSuites()).contains("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
  }

  @Test
  void autoTakesConscryptWhenFoundAndTheJdkOtherwise() {
    TlsProviders.Resolved r = TlsProviders.resolve("tls.provider", TlsProviders.Choice.AUTO, DEFAULT_PROTOCOLS, null,
        TlsProviders.conscrypt());
    assertThat(r.conscrypt()).isTrue();
    assertThat(r.name()).isEqualTo("CONSCRYPT");
    assertThat(r.description()).isEqualTo("Conscrypt 2.5.2 (BoringSSL)");
    assertThat(TlsProviders.context(r, null, null).getProvider().getName()).isEqualTo("Conscrypt");

    TlsProviders.Resolved jdk = TlsProviders.resolve("tls.provider", TlsProviders.Choice.AUTO, DEFAULT_PROTOCOLS, null,
        MISSING);
    assertThat(jdk.conscrypt()).isFalse();
    assertThat(jdk.name()).isEqualTo("JDK");
    assertThat(TlsProviders.context(jdk, null, null).getProvider().getName()).isEqualTo("SunJSSE");
  }

  @Test
  void jdkIsTheJdksEvenWithConscryptThere() {
    TlsProviders.Resolved r = TlsProviders.resolve("tls.provider", TlsProviders.Choice.JDK, DEFAULT_PROTOCOLS, null,
        TlsProviders.conscrypt());
    assertThat(r.conscrypt()).isFalse();
  }

  @Test
  void conscryptRequiredButMissingNamesTheArtifact() {
    assertThatThrownBy(() -> TlsProviders.resolve("tls.provider", TlsProviders.Choice.CONSCRYPT, DEFAULT_PROTOCOLS,
        null, MISSING))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("tls.provider: CONSCRYPT needs org.conscrypt:conscrypt-openjdk-uber (expected: the dependency "
            + "org.conscrypt:conscrypt-openjdk-uber added to the application, on a platform it covers, or AUTO or "
            + "JDK): org.conscrypt:conscrypt-openjdk-uber is not on the class path");
  }

  @Test
  void aNativeLibraryThatDoesNotLoadIsNamedWithThePlatformsTheJarCovers() {
    TlsProviders.Lookup noNative = new TlsProviders.Lookup(null, null, List.of(), List.of(),
        "Conscrypt's native library does not load on linux-aarch64 (the uber jar holds "
            + TlsProviders.CONSCRYPT_PLATFORMS + "): UnsatisfiedLinkError");
    assertThatThrownBy(() -> TlsProviders.resolve("tls.provider", TlsProviders.Choice.CONSCRYPT, DEFAULT_PROTOCOLS,
        null, noNative))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageEndingWith("Conscrypt's native library does not load on linux-aarch64 (the uber jar holds "
            + "linux-x86_64, osx-x86_64, windows-x86_64, windows-x86): UnsatisfiedLinkError");
    assertThat(TlsProviders.resolve("tls.provider", TlsProviders.Choice.AUTO, DEFAULT_PROTOCOLS, null, noNative)
        .conscrypt()).isFalse();
  }

  @Test
  void settingsConscryptCannotHonourFailWhenRequiredAndFallBackToTheJdkOnAuto() {
    TlsProviders.Lookup found = TlsProviders.conscrypt();
    List<String> some13 = List.of("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    assertThatThrownBy(() -> TlsProviders.resolve("tls.provider", TlsProviders.Choice.CONSCRYPT, DEFAULT_PROTOCOLS,
        some13, found))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tls.cipherSuites: [TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256] (expected: "
            + "with Conscrypt, every TLS 1.3 suite [TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, "
            + "TLS_CHACHA20_POLY1305_SHA256], since BoringSSL always enables all of them; or the JDK's provider)");
    assertThat(TlsProviders.resolve("tls.provider", TlsProviders.Choice.AUTO, DEFAULT_PROTOCOLS, some13, found)
        .conscrypt()).isFalse();
    // TLS 1.2 only: any subset of suites is fine
    assertThat(TlsProviders.resolve("tls.provider", TlsProviders.Choice.CONSCRYPT, List.of("TLSv1.2"),
        List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), found).conscrypt()).isTrue();

    assertThatThrownBy(() -> TlsProviders.resolve("tls.provider", TlsProviders.Choice.CONSCRYPT, List.of("TLSv1.2"),
        List.of("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"), found))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tls.cipherSuites: TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 (expected: with Conscrypt, a suite it "
            + "supports, such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)");
    assertThatThrownBy(() -> TlsProviders.resolve("tls.provider", TlsProviders.Choice.CONSCRYPT, List.of("SSLv3"),
        null, found))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tls.protocols: SSLv3 (expected: with Conscrypt, one of [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3])");
  }

  @Test
  void aConscryptContextMakesConscryptEngines() throws Exception {
    TlsProviders.Resolved r = TlsProviders.resolve("tls.provider", TlsProviders.Choice.CONSCRYPT, DEFAULT_PROTOCOLS,
        null, TlsProviders.conscrypt());
    SSLContext ctx = TlsProviders.context(r, null, null);
    assertThat(org.conscrypt.Conscrypt.isConscrypt(ctx.createSSLEngine())).isTrue();
  }

  @Test
  void conscryptGetsKeysInItsOwnFormOnceAndTheJdkKeepsThem() throws Exception {
    java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    java.security.PrivateKey jdkKey = g.generateKeyPair().getPrivate();
    TlsProviders.Resolved conscrypt = TlsProviders.resolve("tls.provider", TlsProviders.Choice.CONSCRYPT,
        DEFAULT_PROTOCOLS, null, TlsProviders.conscrypt());
    java.security.PrivateKey converted = TlsProviders.keyForm(conscrypt).apply(jdkKey);
    assertThat(converted.getClass().getName()).startsWith("org.conscrypt.");
    assertThat(converted.getEncoded()).isEqualTo(jdkKey.getEncoded());
    TlsProviders.Resolved jdk = TlsProviders.resolve("tls.provider", TlsProviders.Choice.JDK, DEFAULT_PROTOCOLS,
        null, TlsProviders.conscrypt());
    assertThat(TlsProviders.keyForm(jdk).apply(jdkKey)).isSameAs(jdkKey);

    // the key manager converts once per alias, not in every handshake
    java.util.concurrent.atomic.AtomicInteger conversions = new java.util.concurrent.atomic.AtomicInteger();
    javax.net.ssl.X509ExtendedKeyManager delegate = new javax.net.ssl.X509ExtendedKeyManager() {
      @Override public String[] getClientAliases(String t, java.security.Principal[] i) { return null; }
      @Override public String chooseClientAlias(String[] t, java.security.Principal[] i, java.net.Socket s) {
        return null;
      }
      @Override public String[] getServerAliases(String t, java.security.Principal[] i) { return new String[] {"a"}; }
      @Override public String chooseServerAlias(String t, java.security.Principal[] i, java.net.Socket s) {
        return "a";
      }
      @Override public java.security.cert.X509Certificate[] getCertificateChain(String alias) { return null; }
      @Override public java.security.PrivateKey getPrivateKey(String alias) { return jdkKey; }
    };
    KeyFormKeyManager km = new KeyFormKeyManager(
        new SniKeyManager(delegate, List.of(new SniKeyManager.Entry("a", List.of("x")))), k -> {
      conversions.incrementAndGet();
      return TlsProviders.keyForm(conscrypt).apply(k);
    });
    java.security.PrivateKey first = km.getPrivateKey("a");
    assertThat(km.getPrivateKey("a")).isSameAs(first);
    assertThat(conversions).hasValue(1);

    // the same for the key managers of other server contexts (TLS interception's leaves)
    KeyFormKeyManager leafKm = new KeyFormKeyManager(delegate, k -> {
      conversions.incrementAndGet();
      return TlsProviders.keyForm(conscrypt).apply(k);
    });
    java.security.PrivateKey leafKey = leafKm.getPrivateKey("a");
    assertThat(leafKey.getClass().getName()).startsWith("org.conscrypt.");
    assertThat(leafKm.getPrivateKey("a")).isSameAs(leafKey);
    assertThat(conversions).hasValue(2);
    assertThat(TlsProviders.serverContext(conscrypt, new javax.net.ssl.KeyManager[] {delegate}, null).getProvider()
        .getName()).isEqualTo("Conscrypt");
  }
}
