package dev.gatehouse.proxy.internal.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Enumeration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * Loads certificates and keys with the JDK alone: PEM chains ({@code fullchain.pem}), PEM private keys
 * (PKCS#8 {@code BEGIN PRIVATE KEY}, and PKCS#1 {@code BEGIN RSA PRIVATE KEY}), and PKCS#12 / JKS key
 * stores. Errors name the file and what was expected.
 */
public final class Pem {
  private static final Pattern BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
  /** Placeholder alias for the single entry of key stores built here. */
  static final String ALIAS = "gatehouse";

  private Pem() {}

  /** The certificates of a PEM file, leaf first. */
  public static List<X509Certificate> certificates(String setting, Path file) {
    byte[] data = read(setting, file);
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      Collection<? extends Certificate> certs = cf.generateCertificates(new ByteArrayInputStream(data));
      List<X509Certificate> out = new ArrayList<>();
      for (Certificate c : certs) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new IllegalArgumentException(setting + ": " + file
            + " (expected: PEM certificates, -----BEGIN CERTIFICATE-----)");
      }
      return out;
    } catch (CertificateException e) {
      throw new IllegalArgumentException(setting + ": " + file
          + " (expected: PEM certificates, -----BEGIN CERTIFICATE-----): " + e.getMessage(), e);
    }
  }

  /** The private key of a PEM file: PKCS#8 ({@code BEGIN PRIVATE KEY}) or PKCS#1 RSA. */
  public static PrivateKey privateKey(String setting, Path file) {
    String text = new String(read(setting, file), StandardCharsets.US_ASCII);
    Matcher m = BLOCK.matcher(text);
    while (m.find()) {
      String type = m.group(1);
      byte[] der = Base64.getMimeDecoder().decode(m.group(2));
      if (type.equals("PRIVATE KEY")) {
        return pkcs8(setting, file, der);
      }
      if (type.equals("RSA PRIVATE KEY")) {
        return pkcs8(setting, file, wrapPkcs1(der));
      }
      if (type.equals("ENCRYPTED PRIVATE KEY")) {
        throw new IllegalArgumentException(setting + ": " + file + " holds an encrypted key (expected: an "
            + "unencrypted key; convert with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8)");
      }
      if (type.equals("EC PRIVATE KEY")) {
        throw new IllegalArgumentException(setting + ": " + file + " holds a SEC1 EC key (expected: PKCS#8, "
            + "BEGIN PRIVATE KEY; convert with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8)");
      }
    }
    throw new IllegalArgumentException(setting + ": " + file + " (expected: a PEM private key, "
        + "-----BEGIN PRIVATE KEY-----)");
  }

  private static PrivateKey pkcs8(String setting, Path file, byte[] der) {
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String alg : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS", "DSA"}) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(spec);
      } catch (GeneralSecurityException | RuntimeException ignored) {
        // try the next algorithm
      }
    }
    throw new IllegalArgumentException(setting + ": " + file + " (expected: an RSA, EC or EdDSA private key)");
  }

  /** PKCS#1 RSAPrivateKey inside a PKCS#8 PrivateKeyInfo with the rsaEncryption algorithm. */
  private static byte[] wrapPkcs1(byte[] pkcs1) {
    byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01,
        0x01, 0x01, 0x05, 0x00};
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes(new byte[] {0x02, 0x01, 0x00});
    body.writeBytes(algorithm);
    body.write(0x04);
    writeLength(body, pkcs1.length);
    body.writeBytes(pkcs1);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0x30);
    writeLength(out, body.size());
    out.writeBytes(body.toByteArray());
    return out.toByteArray();
  }

  private static void writeLength(ByteArrayOutputStream out, int len) {
    if (len < 0x80) {
      out.write(len);
    } else if (len < 0x100) {
      out.write(0x81);
      out.write(len);
    } else if (len < 0x10000) {
      out.write(0x82);
      out.write(len >> 8);
      out.write(len);
    } else {
      out.write(0x83);
      out.write(len >> 16);
      out.write(len >> 8);
      out.write(len);
    }
  }

  /** A key store with one entry made of a PEM chain and key. */
  public static KeyStore keyStore(String setting, Path chain, Path key) {
    List<X509Certificate> certs = certificates(setting, chain);
    PrivateKey pk = privateKey(setting, key);
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry(ALIAS, pk, new char[0], certs.toArray(new Certificate[0]));
      return ks;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalArgumentException(setting + ": " + chain + " and " + key
          + " (expected: a certificate chain and its private key): " + e.getMessage(), e);
    }
  }

  /** Loads a PKCS#12 (or JKS) key store. */
  public static KeyStore loadKeyStore(String setting, Path file, char[] password) {
    byte[] data = read(setting, file);
    for (String type : new String[] {"PKCS12", "JKS"}) {
      try (InputStream in = new ByteArrayInputStream(data)) {
        KeyStore ks = KeyStore.getInstance(type);
        ks.load(in, password);
        return ks;
      } catch (GeneralSecurityException | IOException e) {
        if (e.getCause() instanceof java.security.UnrecoverableKeyException
            || String.valueOf(e.getMessage()).contains("password")) {
          throw new IllegalArgumentException(setting + ": " + file + " (expected: the right password): "
              + e.getMessage(), e);
        }
      }
    }
    throw new IllegalArgumentException(setting + ": " + file + " (expected: a PKCS#12 or JKS key store)");
  }

  /** The leaf certificates of the key entries of {@code ks}. */
  public static List<X509Certificate> leafCertificates(KeyStore ks) {
    List<X509Certificate> out = new ArrayList<>();
    try {
      Enumeration<String> aliases = ks.aliases();
      while (aliases.hasMoreElements()) {
        String a = aliases.nextElement();
        if (ks.isKeyEntry(a) && ks.getCertificate(a) instanceof X509Certificate) {
          out.add((X509Certificate) ks.getCertificate(a));
        }
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }

  public static KeyManager[] keyManagers(KeyStore ks, char[] password) {
    try {
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, password);
      return kmf.getKeyManagers();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("key store: " + e.getMessage(), e);
    }
  }

  public static TrustManager[] trustManagers(KeyStore ks) {
    try {
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      return tmf.getTrustManagers();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("trust store: " + e.getMessage(), e);
    }
  }

  /** A trust store holding {@code certs}. */
  public static KeyStore trustStore(List<X509Certificate> certs) {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      int i = 0;
      for (X509Certificate c : certs) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
      return ks;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static SSLContext context(KeyManager[] km, TrustManager[] tm) {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(km, tm, null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot create a TLS context: " + e.getMessage(), e);
    }
  }

  private static byte[] read(String setting, Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException(setting + ": " + file + " (expected: a readable file): " + e, e);
    }
  }
}
