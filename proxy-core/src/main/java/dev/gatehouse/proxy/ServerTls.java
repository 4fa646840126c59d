package dev.gatehouse.proxy;

import dev.gatehouse.proxy.internal.tls.ServerTlsContexts;
import dev.gatehouse.proxy.internal.tls.TlsProviders;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * TLS for the proxy's listener (nginx's {@code listen 443 ssl} with {@code ssl_certificate}): one or
 * more certificates, chosen per connection by the name the client asks for (SNI) among each
 * certificate's DNS names, the first one being the default. Certificates are re-read from disk when
 * their files change, without a restart: connections already open and handshakes under way keep the
 * certificate they started with, new ones get the new one, and a half-written pair (a key that does
 * not match its certificate) is not taken.
 *
 * <pre>{@code
 * ServerTls tls = ServerTls.builder()
 *     .pem(Path.of("/etc/letsencrypt/live/api.example.com/fullchain.pem"),
 *          Path.of("/etc/letsencrypt/live/api.example.com/privkey.pem"))
 *     .build();
 * ReverseProxy.builder().port(443).tls(tls).http2(true)...
 * }</pre>
 *
 * <p>TLS 1.3 and 1.2 only by default, with the JDK's default cipher suites for them (including
 * {@code TLS_AES_128_GCM_SHA256}).
 *
 * <p>The handshakes and records are the JDK's own TLS, or Conscrypt's (BoringSSL) when {@code
 * org.conscrypt:conscrypt-openjdk-uber} is on the class path: a full handshake then costs the proxy about
 * a fifth of the JDK's CPU time. See {@link Provider} and {@link Builder#provider(Provider)}.
 */
public final class ServerTls {
  /** The protocols enabled by default. */
  public static final List<String> DEFAULT_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
  /** How often the files are checked for changes by default. */
  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofMinutes(1);

  /** Whether clients present certificates (mutual TLS). */
  public enum ClientAuth {
    /** No client certificate is asked for. */
    NONE,
    /**
     * A certificate is asked for; a client without one still connects (and a filter such as {@code
     * ClientCertificateAuth} decides), one with a certificate the trust anchors do not verify fails the
     * handshake.
     */
    OPTIONAL,
    /** A certificate the trust anchors verify is required: without one the handshake fails. */
    REQUIRED
  }

  /**
   * Which TLS implementation serves the listener: the JDK's, or Conscrypt, which runs BoringSSL's TLS
   * (the library Chrome and Android use) through JNI. Conscrypt's full handshake costs a fraction of the
   * JDK's CPU time, its resumed handshakes and records less too; it is a native library, in the uber jar
   * for Linux x86-64, macOS x86-64 and Windows x86/x86-64 only. Everything the listener offers works
   * with either (certificates chosen by SNI, reload, ALPN and HTTP/2, client certificates, events).
   */
  public enum Provider {
    /**
     * Conscrypt when {@code org.conscrypt:conscrypt-openjdk-uber} is on the class path, its native
     * library loads on this platform and it can honour the settings (it cannot restrict the TLS 1.3
     * suites, which BoringSSL always enables all of); otherwise the JDK's.
     */
    AUTO,
    /** The JDK's own TLS (SunJSSE), whatever is on the class path. */
    JDK,
    /**
     * Conscrypt; {@link Builder#build()} fails, naming the artifact, when it is missing or its native
     * library does not load, and naming the setting when it cannot honour one.
     */
    CONSCRYPT
  }

  private final List<String> protocols;
  private final List<String> cipherSuites;
  private final Duration reloadInterval;
  private final ClientAuth clientAuth;
  private final Provider provider;
  private final ServerTlsContexts contexts;

  private ServerTls(Builder b, TlsProviders.Resolved resolved) {
    this.protocols = List.copyOf(b.protocols);
    this.cipherSuites = b.cipherSuites == null ? null : List.copyOf(b.cipherSuites);
    this.reloadInterval = b.reloadInterval;
    this.clientAuth = b.clientAuth;
    this.provider = resolved.conscrypt() ? Provider.CONSCRYPT : Provider.JDK;
    this.contexts = new ServerTlsContexts(b.sources, this.protocols, this.cipherSuites, b.clientAuth.name(),
        b.clientTrustAnchors, resolved);
  }

  /**
   * The implementation serving the handshakes: {@link Provider#JDK} or {@link Provider#CONSCRYPT}
   * ({@link Provider#AUTO} is resolved by {@link Builder#build()}).
   */
  public Provider provider() {
    return provider;
  }

  /** Whether clients present certificates. */
  public ClientAuth clientAuth() {
    return clientAuth;
  }

  /** A builder; add at least one certificate. */
  public static Builder builder() {
    return new Builder();
  }

  /** The enabled protocols. */
  public List<String> protocols() {
    return protocols;
  }

  /** The enabled cipher suites, or null for the JDK's defaults. */
  public @Nullable List<String> cipherSuites() {
    return cipherSuites;
  }

  /** How often the files are checked; zero when only {@link #reload()} re-reads them. */
  public Duration reloadInterval() {
    return reloadInterval;
  }

  /**
   * Re-reads every certificate and key now (blocking file I/O: call it from your own thread, e.g. a
   * certbot deploy hook) and, if all load and match, uses them for new connections.
   *
   * @throws IllegalArgumentException if a file cannot be read or a key does not match its certificate;
   *     the certificates in use stay
   */
  public void reload() {
    contexts.reload();
  }

  /** For the builder: the engine's view. */
  ServerTlsContexts contexts() {
    return contexts;
  }

  /** Builds {@link ServerTls}; the files are read and checked by {@link #build()}. */
  public static final class Builder {
    private final List<ServerTlsContexts.Source> sources = new ArrayList<>();
    private List<String> protocols = DEFAULT_PROTOCOLS;
    private List<String> cipherSuites;
    private Duration reloadInterval = DEFAULT_RELOAD_INTERVAL;
    private ClientAuth clientAuth = ClientAuth.NONE;
    private Path clientTrustAnchors;
    private Provider provider = Provider.AUTO;

    private Builder() {}

    /**
     * Which TLS implementation serves the listener (see {@link Provider}).
     *
     * @implSpec Defaults to {@link Provider#AUTO}: Conscrypt when its jar is on the class path, else the
     * JDK's.
     */
    public Builder provider(Provider provider) {
      this.provider = Objects.requireNonNull(provider, "provider");
      return this;
    }

    /**
     * Asks clients for certificates (mutual TLS), verified against the CA certificates in the PEM file
     * {@code trustAnchors} (re-read with the listener's certificates). {@link ProxyExchange#peerCertificates()}
     * then gives the verified chain to filters. Revocation is not checked.
     *
     * @implSpec Defaults to {@link
     * ClientAuth#NONE}.
     */
    public Builder clientAuth(ClientAuth mode, Path trustAnchors) {
      Objects.requireNonNull(mode, "clientAuth");
      if (mode == ClientAuth.NONE) {
        this.clientAuth = mode;
        this.clientTrustAnchors = null;
        return this;
      }
      this.clientAuth = mode;
      this.clientTrustAnchors = Objects.requireNonNull(trustAnchors, "trustAnchors");
      return this;
    }

    /**
     * Adds a certificate chain ({@code fullchain.pem}, leaf first) and its private key ({@code
     * privkey.pem}, PKCS#8 or PKCS#1 RSA, unencrypted). The first certificate added is the default.
     */
    public Builder pem(Path certificateChain, Path privateKey) {
      Objects.requireNonNull(certificateChain, "certificateChain");
      Objects.requireNonNull(privateKey, "privateKey");
      sources.add(ServerTlsContexts.Source.pem(certificateChain, privateKey));
      return this;
    }

    /** Adds the key entries of a PKCS#12 file (the key's password must be the file's). */
    public Builder pkcs12(Path file, String password) {
      Objects.requireNonNull(file, "file");
      Objects.requireNonNull(password, "password");
      sources.add(ServerTlsContexts.Source.pkcs12(file, password.toCharArray()));
      return this;
    }

    /**
     * The protocols to accept.
     *
     * @implSpec Defaults to {@code TLSv1.3, TLSv1.2}.
     */
    public Builder protocols(String... protocols) {
      Objects.requireNonNull(protocols, "protocols");
      List<String> supported = ServerTlsContexts.supportedProtocols();
      for (String p : protocols) {
        if (!supported.contains(p)) {
          throw new IllegalArgumentException("tls.protocols: " + p + " (expected: one of " + supported + ")");
        }
      }
      if (protocols.length == 0) {
        throw new IllegalArgumentException("tls.protocols: [] (expected: at least one protocol)");
      }
      this.protocols = Arrays.asList(protocols.clone());
      return this;
    }

    /**
     * The cipher suites to accept.
     *
     * @implSpec Defaults to the JDK's defaults for the enabled protocols.
     */
    public Builder cipherSuites(String... suites) {
      Objects.requireNonNull(suites, "cipherSuites");
      List<String> supported = ServerTlsContexts.supportedCipherSuites();
      for (String s : suites) {
        if (!supported.contains(s)) {
          throw new IllegalArgumentException("tls.cipherSuites: " + s + " (expected: a suite the JDK supports, such as TLS_AES_128_GCM_SHA256)");
        }
      }
      if (suites.length == 0) {
        throw new IllegalArgumentException("tls.cipherSuites: [] (expected: at least one suite)");
      }
      this.cipherSuites = Arrays.asList(suites.clone());
      return this;
    }

    /**
     * How often the certificate files are checked for changes; {@link Duration#ZERO} turns polling off
     * ({@link ServerTls#reload()} still works).
     *
     * @implSpec Defaults to 1 minute.
     */
    public Builder reloadInterval(Duration interval) {
      Objects.requireNonNull(interval, "reloadInterval");
      if (interval.isNegative() || (!interval.isZero() && interval.toMillis() < 10)) {
        throw new IllegalArgumentException("tls.reloadInterval: " + interval + " (expected: 0 or >= 10 ms)");
      }
      this.reloadInterval = interval;
      return this;
    }

    /**
     * Reads the certificates and keys and checks them.
     *
     * @throws IllegalStateException with no certificate, or with {@link Provider#CONSCRYPT} when Conscrypt
     *     ({@code org.conscrypt:conscrypt-openjdk-uber}) is not on the class path or its native library
     *     does not load
     * @throws IllegalArgumentException if a file cannot be read or parsed, or a key does not match, or
     *     {@link Provider#CONSCRYPT} cannot honour the protocols or cipher suites
     */
    public ServerTls build() {
      if (sources.isEmpty()) {
        throw new IllegalStateException("tls: no certificate (expected: pem(chain, key) or pkcs12(file, password))");
      }
      boolean tls13 = protocols.contains("TLSv1.3");
      if (cipherSuites != null && tls13 && cipherSuites.stream().noneMatch(s -> s.startsWith("TLS_AES_") || s.startsWith("TLS_CHACHA20_"))) {
        throw new IllegalArgumentException("tls.cipherSuites: " + cipherSuites
            + " (expected: at least one TLS 1.3 suite such as TLS_AES_128_GCM_SHA256 while TLSv1.3 is enabled)");
      }
      TlsProviders.Resolved resolved = TlsProviders.resolve("tls.provider",
          TlsProviders.Choice.valueOf(provider.name()), protocols, cipherSuites);
      ServerTls tls = new ServerTls(this, resolved);
      tls.contexts.reload();
      return tls;
    }
  }
}
