package dev.gatehouse.proxy.forward.internal.mitm;

import dev.gatehouse.proxy.spi.ServerContexts;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A certificate minted for one host, with the TLS context that presents it: each host has a context of
 * its own, so a client resuming a session gets the same certificate, and nothing is looked up while a
 * handshake runs on an I/O thread.
 *
 * @param host the name (or IP literal) the certificate is for, lower case
 * @param chain the certificate and the CA certificate that signed it
 * @param context server-side TLS with this certificate and the shared leaf key
 */
public record Leaf(String host, X509Certificate[] chain, SSLContext context) {

  /** The host's certificate. */
  public X509Certificate certificate() {
    return chain[0];
  }

  /** A leaf for {@code host}: {@code chain} presented with {@code key}. */
  static Leaf of(String host, X509Certificate[] chain, PrivateKey key) {
    // Conscrypt when it is on the class path, as the listener's; no trust managers: client certificates
    // are not asked for, and the JDK's roots are not loaded
    try {
      return new Leaf(host, chain, ServerContexts.of(new KeyManager[] {new OneKey(chain, key)}));
    } catch (IllegalStateException e) {
      throw new IllegalStateException("cannot create a TLS context for " + host + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "Leaf(" + host + ", serial " + chain[0].getSerialNumber().toString(16) + ", until "
        + chain[0].getNotAfter().toInstant() + ")";
  }

  /** Presents one certificate chain, for server handshakes whose key type it suits. */
  private static final class OneKey extends X509ExtendedKeyManager {
    private static final String ALIAS = "leaf";
    private final X509Certificate[] chain;
    private final PrivateKey key;

    OneKey(X509Certificate[] chain, PrivateKey key) {
      this.chain = chain.clone();
      this.key = key;
    }

    private String alias(String keyType) {
      return key.getAlgorithm().equals(keyType) ? ALIAS : null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return alias(keyType);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return alias(keyType);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      String a = alias(keyType);
      return a == null ? null : new String[] {a};
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return ALIAS.equals(alias) ? key : null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return null;
    }
  }
}
