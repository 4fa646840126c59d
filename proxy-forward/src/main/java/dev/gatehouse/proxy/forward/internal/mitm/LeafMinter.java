package dev.gatehouse.proxy.forward.internal.mitm;

import dev.gatehouse.proxy.forward.internal.HostPattern;
import dev.gatehouse.proxy.spi.CidrSet;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Mints per-host certificates signed by the interception CA, all with one key pair made once (so that
 * a new host costs a signature, not a key generation). Thread-safe; blocking work (CPU), so callers run
 * it off the I/O threads.
 */
public final class LeafMinter {
  /** How far back a certificate's validity starts, for clients whose clocks run behind. */
  static final Duration BACKDATE = Duration.ofHours(1);

  private final X509Certificate ca;
  private final PrivateKey caKey;
  private final KeyPair leafKeys;
  private final Duration validity;
  private final InstantSource clock;
  private final AtomicLong minted = new AtomicLong();

  /**
   * @param ca the CA certificate
   * @param caKey its private key
   * @param leafKeys the key pair every leaf certificate carries
   * @param validity how long a leaf is valid (from now, plus {@link #BACKDATE} before)
   * @param clock what "now" is
   */
  public LeafMinter(X509Certificate ca, PrivateKey caKey, KeyPair leafKeys, Duration validity, InstantSource clock) {
    this.ca = ca;
    this.caKey = caKey;
    this.leafKeys = leafKeys;
    this.validity = validity;
    this.clock = clock;
  }

  /** A new certificate for {@code host} (lower-case DNS name or IP literal without brackets). */
  public Leaf mint(String host) {
    if (CidrSet.parseLiteral(host) == null && !HostPattern.isHostName(host)) {
      throw new IllegalArgumentException("host: \"" + host + "\" (expected: a DNS name or an IP address)");
    }
    Instant now = clock.instant();
    Instant notAfter = now.plus(validity);
    if (notAfter.isAfter(ca.getNotAfter().toInstant())) {
      notAfter = ca.getNotAfter().toInstant(); // never outlive the CA: clients would refuse the chain
    }
    X509Certificate leaf = Certificates.leaf(ca, caKey, leafKeys.getPublic(), host, now.minus(BACKDATE), notAfter);
    minted.incrementAndGet();
    return Leaf.of(host, new X509Certificate[] {leaf, ca}, leafKeys.getPrivate());
  }

  /** Certificates minted so far. */
  public long minted() {
    return minted.get();
  }

  /** The CA certificate. */
  public X509Certificate authority() {
    return ca;
  }
}
