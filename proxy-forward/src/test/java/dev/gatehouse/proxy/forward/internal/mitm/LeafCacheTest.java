package dev.gatehouse.proxy.forward.internal.mitm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class LeafCacheTest {
  private static final KeyPair CA_KEYS = Certificates.keyPair("EC");
  private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
  private static final X509Certificate CA = Certificates.authority(CA_KEYS, "Test CA", T0.minus(Duration.ofDays(1)),
      T0.plus(Duration.ofDays(3650)));

  private final AtomicReference<Instant> now = new AtomicReference<>(T0);
  private final InstantSource clock = now::get;
  private final ExecutorService mintThreads = Executors.newFixedThreadPool(2, r -> new Thread(r, "mint"));

  @AfterEach
  void stop() {
    mintThreads.shutdownNow();
  }

  private LeafMinter minter(Duration validity) {
    return new LeafMinter(CA, CA_KEYS.getPrivate(), Certificates.keyPair("EC"), validity, clock);
  }

  @Test
  void leafNamesTheHostIsIssuedByTheCaAndChainsToIt() throws Exception {
    LeafCache cache = new LeafCache(minter(Duration.ofDays(7)), 100, Duration.ofDays(7), clock, mintThreads);

    Leaf leaf = cache.get("shop.example").get(10, TimeUnit.SECONDS);

    X509Certificate cert = leaf.certificate();
    assertThat(cert.getSubjectAlternativeNames()).containsExactly(List.of(2, "shop.example"));
    assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=shop.example");
    assertThat(cert.getIssuerX500Principal()).isEqualTo(CA.getSubjectX500Principal());
    assertThat(cert.getBasicConstraints()).isEqualTo(-1);
    assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1"); // serverAuth
    assertThat(cert.getPublicKey()).isInstanceOf(ECPublicKey.class);
    assertThat(((ECPublicKey) cert.getPublicKey()).getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
    assertThat(cert.getNotBefore().toInstant()).isEqualTo(T0.minus(Duration.ofHours(1)));
    assertThat(cert.getNotAfter().toInstant()).isEqualTo(T0.plus(Duration.ofDays(7)));
    assertThat(leaf.chain()).containsExactly(cert, CA);
    // a PKIX check at the leaf's time, with the CA as the only anchor
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(CA, null)));
    params.setRevocationEnabled(false);
    params.setDate(Date.from(T0));
    CertPathValidator.getInstance("PKIX").validate(
        CertificateFactory.getInstance("X.509").generateCertPath(List.of(cert)), params);
  }

  @Test
  void ipLiteralsGetAnIpAddressSubjectAlternativeName() throws Exception {
    LeafCache cache = new LeafCache(minter(Duration.ofDays(7)), 100, Duration.ofDays(7), clock, mintThreads);

    assertThat(cache.get("127.0.0.1").get(10, TimeUnit.SECONDS).certificate().getSubjectAlternativeNames())
        .containsExactly(List.of(7, "127.0.0.1"));
    assertThat(cache.get("2001:db8::1").get(10, TimeUnit.SECONDS).certificate().getSubjectAlternativeNames())
        .containsExactly(List.of(7, "2001:db8:0:0:0:0:0:1"));
  }

  @Test
  void aLongHostNameGoesIntoACriticalSubjectAlternativeNameOnly() throws Exception {
    String host = "a".repeat(60) + ".example.com";
    Leaf leaf = new LeafCache(minter(Duration.ofDays(7)), 100, Duration.ofDays(7), clock, mintThreads)
        .get(host).get(10, TimeUnit.SECONDS);

    assertThat(leaf.certificate().getSubjectX500Principal().getName()).isEmpty();
    assertThat(leaf.certificate().getCriticalExtensionOIDs()).contains("2.5.29.17");
    assertThat(leaf.certificate().getSubjectAlternativeNames()).containsExactly(List.of(2, host));
  }

  @Test
  void concurrentFirstRequestsForOneHostMintOnceOnTheMintExecutor() throws Exception {
    Semaphore gate = new Semaphore(0);
    List<String> mintedOn = new ArrayList<>();
    LeafMinter minter = minter(Duration.ofDays(7));
    LeafCache cache = new LeafCache(minter, 100, Duration.ofDays(7), clock, task -> mintThreads.execute(() -> {
      gate.acquireUninterruptibly();
      synchronized (mintedOn) {
        mintedOn.add(Thread.currentThread().getName());
      }
      task.run();
    }));

    List<CompletableFuture<Leaf>> waiting = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      waiting.add(cache.get("busy.example"));
    }
    assertThat(waiting).noneMatch(CompletableFuture::isDone);
    gate.release(20);

    Leaf first = waiting.get(0).get(10, TimeUnit.SECONDS);
    for (CompletableFuture<Leaf> f : waiting) {
      assertThat(f.get(10, TimeUnit.SECONDS)).isSameAs(first);
    }
    assertThat(minter.minted()).isEqualTo(1);
    assertThat(mintedOn).containsExactly("mint");
  }

  @Test
  void aCachedHostCostsNoMintAndEveryHostSharesOneKeyPair() throws Exception {
    LeafMinter minter = minter(Duration.ofDays(7));
    LeafCache cache = new LeafCache(minter, 100, Duration.ofDays(7), clock, mintThreads);

    Leaf a = cache.get("a.example").get(10, TimeUnit.SECONDS);
    CompletableFuture<Leaf> again = cache.get("a.example");
    Leaf b = cache.get("b.example").get(10, TimeUnit.SECONDS);

    assertThat(again).isCompletedWithValue(a);
    assertThat(minter.minted()).isEqualTo(2);
    assertThat(b.certificate().getPublicKey()).isEqualTo(a.certificate().getPublicKey());
    assertThat(b.certificate().getSerialNumber()).isNotEqualTo(a.certificate().getSerialNumber());
  }

  @Test
  void aCertificateIsReplacedOnceHalfItsValidityHasPassed() throws Exception {
    LeafMinter minter = minter(Duration.ofDays(2));
    // minting on the caller's thread: Caffeine stamps an entry's write time when its future completes,
    // in a callback that a mint thread may still be running after get() returned, and then reads the
    // clock this test has already moved
    LeafCache cache = new LeafCache(minter, 100, Duration.ofDays(2), clock, Runnable::run);
    Leaf first = cache.get("a.example").get(10, TimeUnit.SECONDS);

    now.set(T0.plus(Duration.ofHours(23)));
    assertThat(cache.get("a.example").get(10, TimeUnit.SECONDS)).isSameAs(first);

    now.set(T0.plus(Duration.ofHours(24)));
    Leaf second = cache.get("a.example").get(10, TimeUnit.SECONDS);
    assertThat(second).isNotSameAs(first);
    assertThat(second.certificate().getNotAfter().toInstant()).isEqualTo(T0.plus(Duration.ofDays(3)));
    assertThat(minter.minted()).isEqualTo(2);
  }

  @Test
  void aLeafNeverOutlivesItsCa() throws Exception {
    X509Certificate shortCa = Certificates.authority(CA_KEYS, "Short CA", T0.minus(Duration.ofDays(1)),
        T0.plus(Duration.ofDays(1)));
    LeafMinter minter = new LeafMinter(shortCa, CA_KEYS.getPrivate(), Certificates.keyPair("EC"),
        Duration.ofDays(7), clock);

    assertThat(minter.mint("a.example").certificate().getNotAfter()).isEqualTo(shortCa.getNotAfter());
  }

  @Test
  void theCacheIsBounded() throws Exception {
    LeafMinter minter = minter(Duration.ofDays(7));
    // minting on the calling thread: each future is complete when Caffeine stores it, so its size
    // bookkeeping (done in the future's completion callback, which can run after get() returns when a
    // pool mints) has happened by the time size() is asked; the bound is what this test is about
    LeafCache cache = new LeafCache(minter, 3, Duration.ofDays(7), clock, Runnable::run);
    for (int i = 0; i < 10; i++) {
      cache.get("h" + i + ".example").get(10, TimeUnit.SECONDS);
    }
    assertThat(cache.size()).isLessThanOrEqualTo(3);
    assertThat(minter.minted()).isEqualTo(10);
  }

  @Test
  void aFailedMintIsNotCached() throws Exception {
    LeafMinter minter = minter(Duration.ofDays(7));
    LeafCache cache = new LeafCache(minter, 100, Duration.ofDays(7), clock, mintThreads);

    CompletableFuture<Leaf> first = cache.get("bad host!");
    assertThatThrownBy(() -> first.get(10, TimeUnit.SECONDS))
        .hasRootCauseMessage("host: \"bad host!\" (expected: a DNS name or an IP address)");
    CompletableFuture<Leaf> second = cache.get("bad host!");
    assertThat(second).isNotSameAs(first);
    assertThatThrownBy(() -> second.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(IllegalArgumentException.class);
    assertThat(minter.minted()).isZero();
  }

  @Test
  void rsaLeavesCarryAnRsaKeyWithKeyEncipherment() throws Exception {
    LeafMinter minter = new LeafMinter(CA, CA_KEYS.getPrivate(), Certificates.keyPair("RSA"), Duration.ofDays(7),
        clock);
    X509Certificate cert = minter.mint("old.example").certificate();

    assertThat(cert.getPublicKey().getAlgorithm()).isEqualTo("RSA");
    assertThat(cert.getKeyUsage()[0]).as("digitalSignature").isTrue();
    assertThat(cert.getKeyUsage()[2]).as("keyEncipherment").isTrue();
  }

  @Test
  void aMissingLibraryIsNamedWithItsArtifact() {
    assertThatThrownBy(() -> OptionalDependencies.require("intercept", "TLS interception", "org.example.Missing",
        "org.example:missing"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("intercept: TLS interception needs org.example:missing on the class path (expected: the "
            + "dependency org.example:missing added to the application)");
  }
}
