package dev.gatehouse.proxy.examples;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;

/**
 * Makes a self-signed certificate (ECDSA P-256) for the examples, written as {@code fullchain.pem} and
 * {@code privkey.pem} like certbot's files, so the examples run with TLS when no certificate is given.
 * Needs {@code org.bouncycastle:bcpkix-jdk18on} on the class path; never use such a certificate in
 * production.
 */
public final class SelfSignedCertificate {
  private final Path chain;
  private final Path key;

  private SelfSignedCertificate(Path chain, Path key) {
    this.chain = chain;
    this.key = key;
  }

  /** The certificate, PEM. */
  public Path chain() {
    return chain;
  }

  /** Its private key, PEM (PKCS#8). */
  public Path key() {
    return key;
  }

  /**
   * Writes a certificate valid for a year for {@code names} (DNS names, or IP addresses) into {@code
   * dir}.
   */
  public static SelfSignedCertificate generate(Path dir, String... names) throws IOException {
    try {
      Class.forName("org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder");
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("a self-signed certificate needs org.bouncycastle:bcpkix-jdk18on on the class "
          + "path (or give TLS_CERT_FILE and TLS_KEY_FILE)", e);
    }
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair kp = g.generateKeyPair();
      X509Certificate cert = Bc.sign(kp, names);
      Path chain = dir.resolve("fullchain.pem");
      Path key = dir.resolve("privkey.pem");
      Files.writeString(chain, pem("CERTIFICATE", cert.getEncoded()), StandardCharsets.US_ASCII);
      Files.writeString(key, pem("PRIVATE KEY", kp.getPrivate().getEncoded()), StandardCharsets.US_ASCII);
      try {
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
      return new SelfSignedCertificate(chain, key);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot make a self-signed certificate: " + e.getMessage(), e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  /** The BouncyCastle part, loaded only when a certificate is made. */
  private static final class Bc {
    static X509Certificate sign(KeyPair kp, String... names) throws GeneralSecurityException, IOException {
      org.bouncycastle.asn1.x500.X500Name subject = new org.bouncycastle.asn1.x500.X500Name(
          "CN=" + (names.length > 0 ? names[0] : "localhost"));
      Instant now = Instant.now();
      org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder b = new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(
          subject, new BigInteger(64, new SecureRandom()).add(BigInteger.ONE), Date.from(now.minus(Duration.ofHours(1))),
          Date.from(now.plus(Duration.ofDays(365))), subject, kp.getPublic());
      List<org.bouncycastle.asn1.x509.GeneralName> sans = new ArrayList<>();
      for (String n : names) {
        boolean ip = n.matches("[0-9.]+") || n.contains(":");
        sans.add(new org.bouncycastle.asn1.x509.GeneralName(
            ip ? org.bouncycastle.asn1.x509.GeneralName.iPAddress : org.bouncycastle.asn1.x509.GeneralName.dNSName,
            ip ? InetAddress.getByName(n).getHostAddress() : n));
      }
      b.addExtension(org.bouncycastle.asn1.x509.Extension.subjectAlternativeName, false,
          new org.bouncycastle.asn1.x509.GeneralNames(sans.toArray(new org.bouncycastle.asn1.x509.GeneralName[0])));
      try {
        return new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter().getCertificate(
            b.build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
      } catch (org.bouncycastle.operator.OperatorCreationException e) {
        throw new GeneralSecurityException(e);
      }
    }
  }
}
