package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.forward.internal.mitm.CaKeys;
import dev.gatehouse.proxy.forward.internal.mitm.Certificates;
import dev.gatehouse.proxy.forward.internal.mitm.OptionalDependencies;
import dev.gatehouse.proxy.spi.KeyMaterial;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The certificate authority that {@linkplain TlsInterception TLS interception} signs its per-host
 * certificates with: a CA certificate and its private key. Clients trust intercepted connections only
 * if they trust this certificate (see the README section on installing it in curl, the JDK, Python
 * and browsers).
 *
 * <pre>{@code
 * // once: make a CA and write it out; give ca.pem to the clients, keep ca-key.pem secret
 * CertificateAuthority.generate("Example Corp interception CA")
 *     .writePem(Path.of("ca.pem"), Path.of("ca-key.pem"));
 *
 * // at every start
 * CertificateAuthority ca = CertificateAuthority.fromPem(Path.of("ca.pem"), Path.of("ca-key.pem"));
 * }</pre>
 *
 * <p>Whoever holds the key can impersonate every site to every client that trusts the certificate: keep
 * the key file readable by the proxy only, and give each installation its own CA. Immutable.
 */
public final class CertificateAuthority {
  /** Validity of {@link #generate(String)}'s certificates. */
  public static final Duration DEFAULT_VALIDITY = Duration.ofDays(365);

  private final X509Certificate certificate;
  private final PrivateKey key;

  private CertificateAuthority(X509Certificate certificate, PrivateKey key) {
    this.certificate = certificate;
    this.key = key;
  }

  /**
   * Loads a CA from a PEM certificate (the first one in the file) and its unencrypted PKCS#8 or PKCS#1
   * private key.
   *
   * @throws IllegalArgumentException if a file cannot be read, is not PEM, the certificate is not a CA
   *     certificate, or the key does not belong to it; the message names the file
   */
  public static CertificateAuthority fromPem(Path certificatePem, Path privateKeyPem) {
    Objects.requireNonNull(certificatePem, "certificatePem");
    Objects.requireNonNull(privateKeyPem, "privateKeyPem");
    X509Certificate cert = KeyMaterial.certificates("certificateAuthority", certificatePem).get(0);
    PrivateKey key = KeyMaterial.privateKey("certificateAuthority", privateKeyPem);
    return checked(cert, key, certificatePem.toString(), privateKeyPem.toString());
  }

  /**
   * Loads a CA from the first key entry of a PKCS#12 (or JKS) file.
   *
   * @throws IllegalArgumentException if the file cannot be read with {@code password}, holds no key
   *     entry, or its certificate is not a CA certificate
   */
  public static CertificateAuthority fromPkcs12(Path file, String password) {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(password, "password");
    char[] pw = password.toCharArray();
    KeyStore ks = KeyMaterial.loadKeyStore("certificateAuthority", file, pw);
    try {
      for (String alias : Collections.list(ks.aliases())) {
        if (ks.isKeyEntry(alias) && ks.getCertificate(alias) instanceof X509Certificate) {
          return checked((X509Certificate) ks.getCertificate(alias), (PrivateKey) ks.getKey(alias, pw),
              file.toString(), file.toString());
        }
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("certificateAuthority: " + file + " (expected: a key entry readable with "
          + "the file's password): " + e.getMessage(), e);
    }
    throw new IllegalArgumentException("certificateAuthority: " + file
        + " (expected: a key entry with the CA certificate and its private key)");
  }

  /** A new CA named {@code CN=commonName}, ECDSA P-256, valid for {@link #DEFAULT_VALIDITY}. */
  public static CertificateAuthority generate(String commonName) {
    return generate(commonName, DEFAULT_VALIDITY);
  }

  /**
   * A new CA named {@code CN=commonName}, with an ECDSA P-256 key, valid from an hour ago (for clocks
   * that run behind) for {@code validity}; it may sign server certificates, not other CAs. Needs {@code
   * org.bouncycastle:bcpkix-jdk18on} on the class path. Write it out with {@link #writePem} to keep it
   * across restarts: clients have to install it once.
   *
   * @throws IllegalArgumentException if the name is blank or the validity not positive
   * @throws IllegalStateException if BouncyCastle is missing
   */
  public static CertificateAuthority generate(String commonName, Duration validity) {
    Objects.requireNonNull(commonName, "commonName");
    Objects.requireNonNull(validity, "validity");
    if (commonName.isBlank() || commonName.length() > 64) {
      throw new IllegalArgumentException("commonName: \"" + commonName + "\" (expected: 1-64 characters)");
    }
    if (validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("validity: " + validity + " (expected: > 0)");
    }
    OptionalDependencies.requireBouncyCastle("CertificateAuthority.generate", "making a certificate authority");
    KeyPair keys = Certificates.keyPair("EC");
    Instant now = Instant.now();
    X509Certificate cert = Certificates.authority(keys, commonName, now.minus(Duration.ofHours(1)), now.plus(validity));
    return new CertificateAuthority(cert, keys.getPrivate());
  }

  private static CertificateAuthority checked(X509Certificate cert, PrivateKey key, String certFile, String keyFile) {
    if (cert.getBasicConstraints() < 0) {
      throw new IllegalArgumentException("certificateAuthority: " + certFile + " holds " + subject(cert)
          + " (expected: a CA certificate, with basicConstraints CA:TRUE)");
    }
    boolean[] usage = cert.getKeyUsage();
    if (usage != null && (usage.length < 6 || !usage[5])) {
      throw new IllegalArgumentException("certificateAuthority: " + certFile + " holds " + subject(cert)
          + " (expected: a certificate whose key usage allows keyCertSign)");
    }
    boolean matches;
    try {
      matches = CaKeys.matches(cert, key);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("certificateAuthority: " + keyFile + " holds " + e.getMessage(), e);
    }
    if (!matches) {
      throw new IllegalArgumentException("certificateAuthority: " + keyFile
          + " (expected: the private key of " + subject(cert) + " in " + certFile + ")");
    }
    return new CertificateAuthority(cert, key);
  }

  /**
   * Writes the certificate (PEM, to give to clients) and the private key (unencrypted PKCS#8 PEM,
   * created readable by its owner only where the file system allows) to two new files.
   *
   * @return this CA
   * @throws IOException if a file exists already (a CA that clients trust is never overwritten) or
   *     cannot be written
   */
  public CertificateAuthority writePem(Path certificatePem, Path privateKeyPem) throws IOException {
    Objects.requireNonNull(certificatePem, "certificatePem");
    Objects.requireNonNull(privateKeyPem, "privateKeyPem");
    for (Path p : List.of(certificatePem, privateKeyPem)) {
      if (Files.exists(p)) {
        throw new FileAlreadyExistsException(p.toString(), null,
            "writePem: the file exists (expected: a new file; a CA clients trust is not overwritten)");
      }
    }
    try {
      Files.createFile(privateKeyPem, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(privateKeyPem);
    }
    try (Writer w = Files.newBufferedWriter(privateKeyPem, StandardCharsets.US_ASCII, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      w.write(pem("PRIVATE KEY", key.getEncoded()));
    }
    Files.writeString(certificatePem, certificatePem(), StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW);
    return this;
  }

  /** The CA certificate as PEM text, to hand to clients. */
  public String certificatePem() {
    try {
      return pem("CERTIFICATE", certificate.getEncoded());
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The CA certificate: what clients must trust. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** The CA's private key; for the proxy's own use. */
  PrivateKey privateKey() {
    return key;
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static String subject(Certificate cert) {
    return ((X509Certificate) cert).getSubjectX500Principal().getName();
  }

  /** The subject and validity; never the key. */
  @Override
  public String toString() {
    return "CertificateAuthority(" + subject(certificate) + ", valid until " + certificate.getNotAfter().toInstant()
        + ")";
  }
}
