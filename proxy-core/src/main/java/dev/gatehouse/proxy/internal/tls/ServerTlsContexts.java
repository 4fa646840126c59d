package dev.gatehouse.proxy.internal.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listener's certificates: loads them, builds one context per certificate and an SNI matcher over
 * their names, and swaps the whole set atomically on reload. The engine's {@link SSLContext} asks for
 * the current set at each new connection.
 */
public final class ServerTlsContexts {
  private static final Logger log = LoggerFactory.getLogger(ServerTlsContexts.class);

  private final List<Source> sources;
  private final AtomicReference<SSLContext> current = new AtomicReference<>();
  private SSLContext context;
  private volatile List<Stamp> stamps = List.of();
  private volatile List<String> names = List.of();

  /** Where one certificate comes from. */
  public static final class Source {
    final Path chain;
    final Path key;
    final Path pkcs12;
    final char[] password;

    private Source(Path chain, Path key, Path pkcs12, char[] password) {
      this.chain = chain;
      this.key = key;
      this.pkcs12 = pkcs12;
      this.password = password;
    }

    public static Source pem(Path chain, Path key) {
      return new Source(chain, key, null, null);
    }

    public static Source pkcs12(Path file, char[] password) {
      return new Source(null, null, file, password);
    }

    List<Path> files() {
      return pkcs12 != null ? List.of(pkcs12) : List.of(chain, key);
    }
  }

  private record Stamp(Path file, FileTime modified, long size) {}

  private final String[] protocols;
  private final String[] cipherSuites;
  /** NONE, OPTIONAL or REQUIRED (ServerTls.ClientAuth). */
  private final String clientAuth;
  private final Path clientTrustAnchors;
  private final TlsProviders.Resolved provider;

  /**
   * @param protocols the protocols to enable
   * @param cipherSuites the suites to enable, or null for the JDK's defaults
   */
  public ServerTlsContexts(List<Source> sources, List<String> protocols, List<String> cipherSuites) {
    this(sources, protocols, cipherSuites, "NONE", null);
  }

  /**
   * @param clientAuth {@code NONE}, {@code OPTIONAL} or {@code REQUIRED}: whether client certificates are
   *     asked for, verified against the CA certificates of the PEM file {@code clientTrustAnchors}
   */
  public ServerTlsContexts(List<Source> sources, List<String> protocols, List<String> cipherSuites, String clientAuth,
      Path clientTrustAnchors) {
    this(sources, protocols, cipherSuites, clientAuth, clientTrustAnchors, TlsProviders.Resolved.JDK);
  }

  /** @param provider the implementation whose contexts serve the handshakes: the JDK's or Conscrypt */
  public ServerTlsContexts(List<Source> sources, List<String> protocols, List<String> cipherSuites, String clientAuth,
      Path clientTrustAnchors, TlsProviders.Resolved provider) {
    this.provider = provider;
    this.sources = List.copyOf(sources);
    this.protocols = protocols.toArray(new String[0]);
    this.cipherSuites = cipherSuites == null ? null : cipherSuites.toArray(new String[0]);
    this.clientAuth = clientAuth;
    this.clientTrustAnchors = clientTrustAnchors;
  }

  /** The context the listener uses: each new connection gets the certificates current at that moment. */
  public synchronized SSLContext sslContext() {
    if (context == null) {
      if (current.get() == null) {
        reload();
      }
      context = new DelegatingSslContext(current::get, engine -> {
        engine.setEnabledProtocols(protocols);
        if (cipherSuites != null) {
          engine.setEnabledCipherSuites(cipherSuites);
        }
        if ("REQUIRED".equals(clientAuth)) {
          engine.setNeedClientAuth(true);
        } else if ("OPTIONAL".equals(clientAuth)) {
          engine.setWantClientAuth(true);
        }
        return TlsProviders.serverEngine(provider, engine);
      });
    }
    return context;
  }

  /** The implementation serving the handshakes. */
  public TlsProviders.Resolved provider() {
    return provider;
  }

  /** The DNS names served, for logs and tests. */
  public List<String> names() {
    return names;
  }

  /** Loads every certificate; on any failure nothing changes and the exception says why. */
  public synchronized void reload() {
    List<Stamp> newStamps = stampsNow();
    KeyStore combined;
    try {
      combined = KeyStore.getInstance("PKCS12");
      combined.load(null, null);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
    List<SniKeyManager.Entry> entries = new ArrayList<>();
    List<String> served = new ArrayList<>();
    for (Source s : sources) {
      KeyStore ks;
      char[] password;
      if (s.pkcs12 != null) {
        ks = Pem.loadKeyStore("tls.pkcs12", s.pkcs12, s.password);
        password = s.password;
      } else {
        ks = Pem.keyStore("tls.pem", s.chain, s.key);
        password = new char[0];
        checkKeyMatches(ks, s);
      }
      int before = entries.size();
      try {
        for (String alias : java.util.Collections.list(ks.aliases())) {
          if (!ks.isKeyEntry(alias) || !(ks.getCertificate(alias) instanceof X509Certificate)) {
            continue;
          }
          String name = "cert-" + entries.size();
          combined.setKeyEntry(name, ks.getKey(alias, password), new char[0], ks.getCertificateChain(alias));
          List<String> names = new ArrayList<>();
          for (String n : dnsNames((X509Certificate) ks.getCertificate(alias))) {
            names.add(n.toLowerCase(Locale.ROOT));
          }
          entries.add(new SniKeyManager.Entry(name, names));
          served.addAll(names);
        }
      } catch (GeneralSecurityException e) {
        throw new IllegalArgumentException("tls.pkcs12: " + s.pkcs12 + " (expected: key entries readable with the "
            + "file's password): " + e.getMessage(), e);
      }
      if (entries.size() == before) {
        throw new IllegalArgumentException("tls.pkcs12: " + s.pkcs12 + " (expected: a key entry with a certificate)");
      }
    }
    javax.net.ssl.KeyManager[] kms = Pem.keyManagers(combined, new char[0]);
    javax.net.ssl.X509ExtendedKeyManager km = new SniKeyManager((javax.net.ssl.X509ExtendedKeyManager) kms[0], entries);
    if (provider.conscrypt()) {
      km = new KeyFormKeyManager(km, TlsProviders.keyForm(provider)); // Conscrypt's key form, made once per alias
    }
    javax.net.ssl.TrustManager[] clientTrust = clientTrustAnchors == null ? null
        : Pem.trustManagers(Pem.trustStore(Pem.certificates("tls.clientAuth", clientTrustAnchors)));
    SSLContext next = TlsProviders.context(provider, new javax.net.ssl.KeyManager[] {km}, clientTrust);
    boolean first = current.get() == null;
    current.set(next);
    stamps = newStamps;
    names = List.copyOf(served);
    if (first) {
      log.info("TLS certificates for {}, served by {}", served, provider.description());
    } else {
      log.info("TLS certificates reloaded: {}", served);
    }
  }

  /** Reloads if a file changed since the last load; failures are logged and retried at the next check. */
  public void reloadIfChanged() {
    if (stampsNow().equals(stamps)) {
      return;
    }
    try {
      reload();
    } catch (RuntimeException e) {
      log.warn("TLS certificates changed on disk but were not taken (the current ones stay): {}", e.getMessage());
    }
  }

  private List<Stamp> stampsNow() {
    List<Path> files = new ArrayList<>();
    for (Source s : sources) {
      files.addAll(s.files());
    }
    if (clientTrustAnchors != null) {
      files.add(clientTrustAnchors);
    }
    List<Stamp> out = new ArrayList<>();
    for (Path f : files) {
      try {
        out.add(new Stamp(f, Files.getLastModifiedTime(f), Files.size(f)));
      } catch (IOException e) {
        out.add(new Stamp(f, null, -1));
      }
    }
    return out;
  }

  private static void checkKeyMatches(KeyStore ks, Source s) {
    try {
      PrivateKey key = (PrivateKey) ks.getKey(Pem.ALIAS, new char[0]);
      X509Certificate cert = (X509Certificate) ks.getCertificate(Pem.ALIAS);
      String alg;
      switch (key.getAlgorithm()) {
        case "RSA": alg = "SHA256withRSA"; break;
        case "EC": alg = "SHA256withECDSA"; break;
        case "Ed25519": alg = "Ed25519"; break;
        case "Ed448": alg = "Ed448"; break;
        default: return;
      }
      byte[] probe = "gatehouse key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      Signature sign = Signature.getInstance(alg);
      sign.initSign(key);
      sign.update(probe);
      byte[] sig = sign.sign();
      Signature verify = Signature.getInstance(alg);
      verify.initVerify(cert.getPublicKey());
      verify.update(probe);
      if (!verify.verify(sig)) {
        throw new IllegalArgumentException("tls.pem: " + s.key + " (expected: the private key of " + s.chain + ")");
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("tls.pem: " + s.key + " (expected: the private key of " + s.chain + "): "
          + e.getMessage(), e);
    }
  }

  /** The certificate's DNS subject alternative names, or its CN when it has none. */
  static List<String> dnsNames(X509Certificate cert) {
    List<String> out = new ArrayList<>();
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (Integer.valueOf(2).equals(san.get(0))) {
            out.add((String) san.get(1));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // no usable SAN: fall back to the CN
    }
    if (out.isEmpty()) {
      try {
        for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
          if (rdn.getType().equalsIgnoreCase("CN")) {
            out.add(rdn.getValue().toString());
          }
        }
      } catch (javax.naming.InvalidNameException e) {
        // no name at all: default certificate only
      }
    }
    return out;
  }

  /** Protocols the JDK supports, for validation. */
  public static List<String> supportedProtocols() {
    try {
      return Arrays.asList(SSLContext.getDefault().getSupportedSSLParameters().getProtocols());
    } catch (GeneralSecurityException e) {
      return List.of("TLSv1.3", "TLSv1.2");
    }
  }

  /** Cipher suites the JDK supports, for validation. */
  public static List<String> supportedCipherSuites() {
    try {
      return Arrays.asList(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites());
    } catch (GeneralSecurityException e) {
      return List.of();
    }
  }
}
