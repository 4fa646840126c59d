package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.forward.internal.HostPattern;
import dev.gatehouse.proxy.forward.internal.mitm.OptionalDependencies;
import dev.gatehouse.proxy.forward.internal.mitm.UpstreamTrust;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * TLS interception ("MITM", as Squid's SSL-Bump and mitmproxy do it) for {@link
 * ForwardProxyBuilder#intercept}: inside a {@code CONNECT} tunnel the proxy completes the client's TLS
 * handshake itself, with a certificate for the requested host minted on the fly and signed by a {@link
 * CertificateAuthority} the clients trust, and opens its own verified TLS connection to the real server.
 * The decrypted requests then go through the filters, the egress policy and the access log like plain
 * HTTP requests, with scheme {@code https}.
 *
 * <pre>{@code
 * ForwardProxy.builder()
 *     .intercept(TlsInterception.builder(CertificateAuthority.fromPem(caPem, caKeyPem)).build())
 *     .build();
 * }</pre>
 *
 * <p><b>The server side.</b> The proxy verifies each server strictly, as a browser would: its certificate
 * must chain to a trusted root (the JDK's, or {@link Builder#upstreamTrustPem}) and name the host of the
 * {@code CONNECT} request, which is also sent as SNI. When it does not, the client gets a {@code 502}
 * saying why (not trusted, expired, wrong name), never an unverified connection, unless {@link
 * Builder#dangerouslyTrustAnyUpstreamCertificate} names that host. Both legs negotiate {@code h2} or
 * {@code http/1.1} by ALPN: the client chooses with the proxy, the server with the proxy.
 *
 * <p>Needs {@code org.bouncycastle:bcpkix-jdk18on} and {@code com.github.ben-manes.caffeine:caffeine}
 * on the class path ({@link Builder#build()} names a missing one).
 *
 * <p><b>Certificates.</b> One per host name (or IP address, for a tunnel to an IP literal), with that
 * name as subject alternative name, ECDSA P-256 by default, valid for {@link #DEFAULT_LEAF_VALIDITY}
 * (and never beyond the CA). All share one key pair, made when the proxy is built, so a new host costs
 * one signature; certificates are cached for half their validity (bounded by {@link
 * Builder#leafCacheSize}), so further connections to a host cost nothing but the handshake. Minting
 * runs on the proxy's worker threads, never on an I/O thread; connections to a host that arrive while
 * its certificate is being minted wait for that one certificate.
 */
public final class TlsInterception {
  /** Default validity of a minted certificate. */
  public static final Duration DEFAULT_LEAF_VALIDITY = Duration.ofDays(7);
  /** Default most hosts whose certificates are cached. */
  public static final int DEFAULT_LEAF_CACHE_SIZE = 10_000;

  /** What to do with a client that speaks something other than TLS inside a tunnel chosen for interception. */
  public enum NonTls {
    /** Close the tunnel: only what can be inspected passes (the default). */
    REFUSE,
    /** Pass the bytes on as an opaque tunnel, as if the tunnel were not intercepted. */
    TUNNEL
  }

  /** The key of the minted certificates. */
  public enum LeafKey {
    /** ECDSA on curve P-256: small, fast to sign with, accepted by every current client. */
    ECDSA_P256("EC"),
    /** RSA 2048 bits, for old clients without ECDSA. */
    RSA_2048("RSA");

    private final String algorithm;

    LeafKey(String algorithm) {
      this.algorithm = algorithm;
    }

    String algorithm() {
      return algorithm;
    }
  }

  private final CertificateAuthority authority;
  private final Duration leafValidity;
  private final int leafCacheSize;
  private final LeafKey leafKey;
  private final InstantSource clock;
  private final UpstreamTrust upstreamTrust;
  private final List<HostPattern> unverified;
  private final InterceptionPolicy policy;
  private final NonTls nonTls;

  private TlsInterception(Builder b, UpstreamTrust upstreamTrust) {
    this.authority = b.authority;
    this.leafValidity = b.leafValidity;
    this.leafCacheSize = b.leafCacheSize;
    this.leafKey = b.leafKey;
    this.clock = b.clock;
    this.upstreamTrust = upstreamTrust;
    this.unverified = List.copyOf(b.unverified);
    this.policy = b.policy;
    this.nonTls = b.nonTls;
  }

  /** A builder for interception with certificates signed by {@code authority}. */
  public static Builder builder(CertificateAuthority authority) {
    return new Builder(Objects.requireNonNull(authority, "authority"));
  }

  CertificateAuthority authority() {
    return authority;
  }

  Duration leafValidity() {
    return leafValidity;
  }

  int leafCacheSize() {
    return leafCacheSize;
  }

  LeafKey leafKey() {
    return leafKey;
  }

  InstantSource clock() {
    return clock;
  }

  /** Which tunnels are intercepted. */
  public InterceptionPolicy policy() {
    return policy;
  }

  NonTls nonTls() {
    return nonTls;
  }

  UpstreamTrust upstreamTrust() {
    return upstreamTrust;
  }

  List<HostPattern> unverified() {
    return unverified;
  }

  @Override
  public String toString() {
    return "TlsInterception(" + authority + ", " + policy + ", non-TLS " + nonTls + ", leaf " + leafKey + " for "
        + leafValidity + ", upstream trust "
        + upstreamTrust + (unverified.isEmpty() ? "" : ", UNVERIFIED upstreams " + unverified) + ")";
  }

  /** Builds {@link TlsInterception}. Not thread-safe. */
  public static final class Builder {
    private final CertificateAuthority authority;
    private Duration leafValidity = DEFAULT_LEAF_VALIDITY;
    private int leafCacheSize = DEFAULT_LEAF_CACHE_SIZE;
    private LeafKey leafKey = LeafKey.ECDSA_P256;
    private InstantSource clock = InstantSource.system();
    private Path trustPem;
    private Path trustStore;
    private String trustStorePassword;
    private final List<Path> alsoTrusted = new ArrayList<>();
    private final List<HostPattern> unverified = new ArrayList<>();
    private InterceptionPolicy policy = InterceptionPolicy.interceptAll();
    private NonTls nonTls = NonTls.REFUSE;

    private Builder(CertificateAuthority authority) {
      this.authority = authority;
    }

    /**
     * Which tunnels are intercepted (an intercept list and a bypass list). Each user can have a policy
     * of their own (see {@link ForwardProxyBuilder#userPolicies}).
     *
     * @implSpec Defaults to {@link
     * InterceptionPolicy#interceptAll()}.
     */
    public Builder policy(InterceptionPolicy policy) {
      this.policy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /**
     * What happens when the first bytes of a tunnel chosen for interception are not a TLS ClientHello
     * (or when the client sends nothing within the proxy's {@code requestHeaderTimeout}, as with
     * protocols where the server speaks first): {@link NonTls#REFUSE} closes the tunnel, {@link
     * NonTls#TUNNEL} passes the bytes on unread. A malformed ClientHello is always refused. The tunnel's
     * access-log line says which.
     *
     * @implSpec Defaults to {@link NonTls#REFUSE}.
     */
    public Builder nonTls(NonTls action) {
      this.nonTls = Objects.requireNonNull(action, "nonTls");
      return this;
    }

    /**
     * How long a minted certificate is valid. Short is safer (a leaked certificate is useful briefly);
     * each is re-minted after half of it.
     *
     * @implSpec Defaults to {@link #DEFAULT_LEAF_VALIDITY}.
     */
    public Builder leafValidity(Duration validity) {
      Objects.requireNonNull(validity, "leafValidity");
      if (validity.compareTo(Duration.ofMinutes(10)) < 0 || validity.compareTo(Duration.ofDays(397)) > 0) {
        throw new IllegalArgumentException("leafValidity: " + validity + " (expected: 10 minutes to 397 days)");
      }
      this.leafValidity = validity;
      return this;
    }

    /**
     * Most hosts whose certificates are kept.
     *
     * @implSpec Defaults to {@link #DEFAULT_LEAF_CACHE_SIZE}.
     */
    public Builder leafCacheSize(int hosts) {
      if (hosts < 1) {
        throw new IllegalArgumentException("leafCacheSize: " + hosts + " (expected: > 0)");
      }
      this.leafCacheSize = hosts;
      return this;
    }

    /**
     * The key type of minted certificates.
     *
     * @implSpec Defaults to {@link LeafKey#ECDSA_P256}.
     */
    public Builder leafKey(LeafKey key) {
      this.leafKey = Objects.requireNonNull(key, "leafKey");
      return this;
    }

    /**
     * Where the current time comes from (certificate validity and cache expiry); for tests.
     *
     * @implSpec Defaults to {@link InstantSource#system()}.
     */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Verifies servers against the CA certificates in this PEM file instead of the JDK's trusted roots
     * (a corporate network whose servers all chain to an internal CA).
     */
    public Builder upstreamTrustPem(Path caCertificates) {
      this.trustPem = Objects.requireNonNull(caCertificates, "upstreamTrustPem");
      return this;
    }

    /** Verifies servers against the certificates of this PKCS#12 or JKS trust store instead of the JDK's roots. */
    public Builder upstreamTrustStore(Path file, String password) {
      this.trustStore = Objects.requireNonNull(file, "upstreamTrustStore");
      this.trustStorePassword = password;
      return this;
    }

    /**
     * Also trusts the CA certificates in this PEM file, besides the JDK's roots (or the store of {@link
     * #upstreamTrustPem} / {@link #upstreamTrustStore}); adds to the list.
     */
    public Builder addUpstreamTrustPem(Path caCertificates) {
      alsoTrusted.add(Objects.requireNonNull(caCertificates, "addUpstreamTrustPem"));
      return this;
    }

    /**
     * <b>Turns off the verification of the server's certificate</b> for these hosts ({@code
     * staging.internal.example}, {@code *.dev.example}, an IP address; optionally with {@code :port}):
     * any certificate is accepted, for any name, so anyone on the path to those hosts can read and change
     * the traffic while the client believes it is protected. For test servers with throw-away
     * certificates only; prefer {@link #addUpstreamTrustPem} with their CA. Logged as a warning at start
     * and at the first connection to each such host. Adds to the list.
     *
     * @throws IllegalArgumentException naming a pattern that cannot be parsed
     */
    public Builder dangerouslyTrustAnyUpstreamCertificate(String... hostPatterns) {
      Objects.requireNonNull(hostPatterns, "dangerouslyTrustAnyUpstreamCertificate");
      for (String p : hostPatterns) {
        unverified.add(HostPattern.host("dangerouslyTrustAnyUpstreamCertificate", p));
      }
      return this;
    }

    /**
     * Builds the configuration and reads the trust files.
     *
     * @throws IllegalStateException if BouncyCastle or Caffeine is not on the class path (the message
     *     names the artifact), or both {@code upstreamTrustPem} and {@code upstreamTrustStore} are set
     * @throws IllegalArgumentException if a trust file cannot be read (the message names it)
     */
    public TlsInterception build() {
      OptionalDependencies.requireInterception("intercept");
      if (trustPem != null && trustStore != null) {
        throw new IllegalStateException("upstreamTrustPem: " + trustPem + " conflicts with upstreamTrustStore: "
            + trustStore + " (expected: one of them)");
      }
      UpstreamTrust trust = UpstreamTrust.load(trustPem, trustStore, trustStorePassword, alsoTrusted);
      return new TlsInterception(this, trust);
    }
  }
}
