package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.spi.ClientTls;
import dev.gatehouse.proxy.spi.KeyMaterial;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Objects;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;

/**
 * How the proxy speaks TLS to {@code https://} servers of an {@link UpstreamGroup}. By default the
 * server's certificate must chain to the JDK's trusted roots and name the host (or IP address) of the
 * server URI, as a browser checks.
 *
 * <pre>{@code
 * UpstreamTls.builder()
 *     .trustPem(Path.of("/etc/gatehouse/internal-ca.pem"))         // a private CA
 *     .clientCertificate(Path.of("proxy.pem"), Path.of("proxy.key")) // mTLS
 *     .build()
 * }</pre>
 */
public final class UpstreamTls {
  private static final UpstreamTls DEFAULTS = new UpstreamTls(null);

  private final ClientTls tls;

  private UpstreamTls(ClientTls tls) {
    this.tls = tls;
  }

  /** The JDK's trusted roots, host names verified, no client certificate. */
  public static UpstreamTls defaults() {
    return DEFAULTS;
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** The core's view, or null for the defaults. */
  ClientTls clientTls() {
    return tls;
  }

  /** Builds {@link UpstreamTls}; files are read by {@link #build()}. */
  public static final class Builder {
    private Path trustPem;
    private Path trustStore;
    private char[] trustStorePassword;
    private Path certChain;
    private Path certKey;
    private Path keyStore;
    private char[] keyStorePassword;
    private boolean verifyHostname = true;
    private String[] protocols;

    private Builder() {}

    /** Trusts the CA certificates in this PEM file (instead of the JDK's roots). */
    public Builder trustPem(Path caCertificates) {
      this.trustPem = Objects.requireNonNull(caCertificates, "trustPem");
      return this;
    }

    /** Trusts the certificates of this PKCS#12 or JKS trust store (instead of the JDK's roots). */
    public Builder trustStore(Path file, String password) {
      this.trustStore = Objects.requireNonNull(file, "trustStore");
      this.trustStorePassword = password == null ? null : password.toCharArray();
      return this;
    }

    /** Presents this certificate chain and key (PEM) when a server asks for one (mTLS). */
    public Builder clientCertificate(Path chainPem, Path keyPem) {
      this.certChain = Objects.requireNonNull(chainPem, "chainPem");
      this.certKey = Objects.requireNonNull(keyPem, "keyPem");
      return this;
    }

    /** Presents the key entry of this PKCS#12 file when a server asks for a certificate (mTLS). */
    public Builder clientKeyStore(Path pkcs12, String password) {
      this.keyStore = Objects.requireNonNull(pkcs12, "clientKeyStore");
      this.keyStorePassword = Objects.requireNonNull(password, "password").toCharArray();
      return this;
    }

    /**
     * Whether the certificate must name the server's host. Turn off only for servers addressed by a name
     * their certificate does not carry; the chain is still verified.
     *
     * @implSpec Defaults to true.
     */
    public Builder verifyHostname(boolean verify) {
      this.verifyHostname = verify;
      return this;
    }

    /**
     * The protocols offered, e.g. {@code "TLSv1.3"}.
     *
     * @implSpec Defaults to the JDK's (TLS 1.2 and 1.3).
     */
    public Builder protocols(String... protocols) {
      Objects.requireNonNull(protocols, "protocols");
      for (String p : protocols) {
        if (!p.matches("TLSv1\\.[0-3]")) {
          throw new IllegalArgumentException("upstreamTls.protocols: " + p + " (expected: TLSv1.2 or TLSv1.3)");
        }
      }
      this.protocols = protocols.clone();
      return this;
    }

    /**
     * Reads the files and builds the configuration.
     *
     * @throws IllegalStateException if both a PEM and a key store are given for the same purpose
     * @throws IllegalArgumentException if a file cannot be read or parsed (the message names it)
     */
    public UpstreamTls build() {
      if (trustPem != null && trustStore != null) {
        throw new IllegalStateException("upstreamTls: both trustPem and trustStore set (expected: one of them)");
      }
      if (certChain != null && keyStore != null) {
        throw new IllegalStateException("upstreamTls: both clientCertificate and clientKeyStore set (expected: one of them)");
      }
      TrustManager[] tm = null;
      if (trustPem != null) {
        tm = KeyMaterial.trustManagers(KeyMaterial.trustStore(KeyMaterial.certificates("upstreamTls.trustPem", trustPem)));
      } else if (trustStore != null) {
        tm = KeyMaterial.trustManagers(KeyMaterial.loadKeyStore("upstreamTls.trustStore", trustStore, trustStorePassword));
      }
      KeyManager[] km = null;
      if (certChain != null) {
        KeyStore ks = KeyMaterial.keyStore("upstreamTls.clientCertificate", certChain, certKey);
        km = KeyMaterial.keyManagers(ks, new char[0]);
      } else if (keyStore != null) {
        km = KeyMaterial.keyManagers(KeyMaterial.loadKeyStore("upstreamTls.clientKeyStore", keyStore, keyStorePassword),
            keyStorePassword);
      }
      return new UpstreamTls(ClientTls.of(km, tm, verifyHostname, protocols));
    }
  }
}
