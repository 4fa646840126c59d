package dev.gatehouse.proxy.forward.internal.mitm;

import dev.gatehouse.proxy.forward.InterceptionPolicy;
import dev.gatehouse.proxy.forward.internal.HostPattern;
import dev.gatehouse.proxy.spi.ClientTls;
import dev.gatehouse.proxy.spi.PoolSettings;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running interception of one proxy: the certificates (minter and cache), the TLS towards servers
 * (verified, or not for the hosts the user named), and the once-per-host warnings.
 */
public final class Interception {
  private static final Logger log = LoggerFactory.getLogger(Interception.class);
  /** Hosts remembered for once-per-host warnings; past this the set starts over. */
  private static final int MAX_WARNED_HOSTS = 10_000;

  private final InterceptionPolicy policy;
  private final boolean tunnelNonTls;
  private final LeafCache leaves;
  private final X509Certificate authority;
  private final ClientTls verified;
  private final List<HostPattern> unverifiedHosts;
  private final ClientTls unverified;
  private final Set<String> warnedClientRefusals = ConcurrentHashMap.newKeySet();
  private final Set<String> warnedUnverified = ConcurrentHashMap.newKeySet();
  private volatile PoolSettings verifiedPool;
  private volatile PoolSettings unverifiedPool;

  private volatile ProxyRuntime runtime;

  /** Makes the key pair of the minted certificates; nothing runs until {@link #attach}. */
  public Interception(X509Certificate ca, PrivateKey caKey, String leafKeyAlgorithm, Duration leafValidity,
      int leafCacheSize, InstantSource clock, UpstreamTrust trust, List<HostPattern> unverifiedHosts,
      InterceptionPolicy policy, boolean tunnelNonTls) {
    Executor mintExecutor = this::onWorker;
    this.policy = policy;
    this.tunnelNonTls = tunnelNonTls;
    KeyPair leafKeys = Certificates.keyPair(leafKeyAlgorithm);
    this.authority = ca;
    this.leaves = new LeafCache(new LeafMinter(ca, caKey, leafKeys, leafValidity, clock), leafCacheSize, leafValidity,
        clock, mintExecutor);
    this.verified = trust.clientTls();
    this.unverifiedHosts = List.copyOf(unverifiedHosts);
    this.unverified = unverifiedHosts.isEmpty() ? null : UpstreamTrust.unverified();
    if (!unverifiedHosts.isEmpty()) {
      log.warn("TLS interception: the certificates of {} are NOT verified (dangerouslyTrustAnyUpstreamCertificate):"
          + " their traffic can be read and changed by anyone on the way", unverifiedHosts);
    }
  }

  /** Minting runs on the proxy's worker threads: never on an I/O thread. */
  private void onWorker(Runnable task) {
    ProxyRuntime r = runtime;
    if (r == null) {
      throw new RejectedExecutionException("proxy not running");
    }
    r.blockingExecutor().execute(task);
  }

  /** Joins the built proxy: its worker threads mint, its settings size the pools. */
  public void attach(ProxyRuntime runtime) {
    this.runtime = runtime;
    verifiedPool = runtime.defaultPool().with(verified, true);
    if (unverified != null) {
      unverifiedPool = runtime.defaultPool().with(unverified, true);
    }
  }

  /** Which tunnels are intercepted, unless a user's own policy says otherwise. */
  public InterceptionPolicy policy() {
    return policy;
  }

  /** Whether bytes that are not TLS pass as an opaque tunnel (else the tunnel is closed). */
  public boolean tunnelNonTls() {
    return tunnelNonTls;
  }

  /** The certificate for {@code host}, minted off the caller's thread when not cached. */
  public CompletableFuture<Leaf> leaf(String host) {
    try {
      return leaves.get(host);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The leaf cache (for tests and metrics). */
  public LeafCache leaves() {
    return leaves;
  }

  /**
   * The pool (with its TLS) for requests to {@code host:port}: HTTP/2 offered by ALPN, certificates
   * verified, unless the user turned that off for this host.
   */
  public PoolSettings upstreamPool(String host, int port) {
    if (unverifiedPool != null) {
      for (HostPattern p : unverifiedHosts) {
        if (p.matches(host, null, port)) {
          if (warnedUnverified.add(host + ":" + port)) {
            log.warn("TLS interception: connecting to {}:{} WITHOUT verifying its certificate "
                + "(dangerouslyTrustAnyUpstreamCertificate {})", host, port, p);
          }
          return unverifiedPool;
        }
      }
    }
    return verifiedPool;
  }

  /**
   * A client's TLS handshake with the proxy failed for {@code host}. When the client refused the
   * certificate (the usual cause: the CA is not installed), says so once per host, with the hint.
   *
   * @return whether this call logged the warning
   */
  public boolean clientHandshakeFailed(String host, String client, SSLException e) {
    String m = String.valueOf(e.getMessage());
    // JDK clients send an encrypted alert (certificate_unknown); OpenSSL clients (curl, Python) send
    // unknown_ca in a plain 2-byte record where the JDK expects an encrypted one, which it reports so
    boolean refusedCertificate = m.contains("certificate") || m.contains("unknown_ca") || m.contains("bad_certificate")
        || m.contains("AEAD cipher fragment (2)");
    if (!refusedCertificate) {
      log.debug("TLS handshake with client {} for {} failed: {}", client, host, m);
      return false;
    }
    if (warnedClientRefusals.size() >= MAX_WARNED_HOSTS) {
      warnedClientRefusals.clear();
    }
    if (warnedClientRefusals.add(host)) {
      log.warn("client {} refused the intercepted certificate for {} ({}): the client probably does not trust the "
          + "interception CA {}; install that CA certificate in the client's trust store, or add {} to the bypass list "
          + "(logged once per host)", client, host, m, authority.getSubjectX500Principal().getName(), host);
      return true;
    }
    log.debug("client {} refused the intercepted certificate for {}: {}", client, host, m);
    return false;
  }
}
