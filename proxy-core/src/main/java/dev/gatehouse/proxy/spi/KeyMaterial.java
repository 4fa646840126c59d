package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.internal.tls.Pem;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;

/**
 * Loads certificates and keys with the JDK alone, for the modules' TLS settings: PEM chains, PEM
 * private keys (PKCS#8, and PKCS#1 RSA), PKCS#12 and JKS key stores. Every failure is an {@link
 * IllegalArgumentException} whose message names {@code setting}, the file and what was expected.
 */
public final class KeyMaterial {
  private KeyMaterial() {}

  /** The certificates of a PEM file, leaf first. */
  public static List<X509Certificate> certificates(String setting, Path file) {
    return Pem.certificates(setting, file);
  }

  /** The private key of a PEM file: PKCS#8 ({@code BEGIN PRIVATE KEY}) or PKCS#1 RSA. */
  public static PrivateKey privateKey(String setting, Path file) {
    return Pem.privateKey(setting, file);
  }

  /** A key store with one entry made of a PEM chain and its key. */
  public static KeyStore keyStore(String setting, Path chain, Path key) {
    return Pem.keyStore(setting, chain, key);
  }

  /** Loads a PKCS#12 (or JKS) key store. */
  public static KeyStore loadKeyStore(String setting, Path file, char[] password) {
    return Pem.loadKeyStore(setting, file, password);
  }

  /** A trust store holding {@code certificates}. */
  public static KeyStore trustStore(List<X509Certificate> certificates) {
    return Pem.trustStore(certificates);
  }

  /** The JDK's key managers over {@code keyStore}. */
  public static KeyManager[] keyManagers(KeyStore keyStore, char[] password) {
    return Pem.keyManagers(keyStore, password);
  }

  /** The JDK's trust managers over {@code trustStore}. */
  public static TrustManager[] trustManagers(KeyStore trustStore) {
    return Pem.trustManagers(trustStore);
  }
}
