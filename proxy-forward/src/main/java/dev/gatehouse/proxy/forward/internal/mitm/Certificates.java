package dev.gatehouse.proxy.forward.internal.mitm;

import dev.gatehouse.proxy.spi.CidrSet;
import java.math.BigInteger;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Every use of BouncyCastle: certificate authorities and the leaf certificates they sign. Loaded only
 * when a certificate is made, so the forward proxy runs without BouncyCastle unless it intercepts.
 */
public final class Certificates {
  private static final SecureRandom RANDOM = new SecureRandom();
  /** The longest common name X.520 allows; longer host names go into the subject alternative name only. */
  private static final int MAX_CN = 64;

  private Certificates() {}

  /** A new key pair: {@code EC} (P-256) or {@code RSA} (2048 bits). */
  public static KeyPair keyPair(String algorithm) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
      if (algorithm.equals("EC")) {
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      } else {
        g.initialize(2048, RANDOM);
      }
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate a " + algorithm + " key pair: " + e.getMessage(), e);
    }
  }

  /**
   * A self-signed CA certificate: {@code CN=commonName}, may sign end-entity certificates only (path
   * length 0), valid from {@code notBefore} to {@code notAfter}.
   */
  public static X509Certificate authority(KeyPair keys, String commonName, Instant notBefore, Instant notAfter) {
    X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(notBefore),
        Date.from(notAfter), name, keys.getPublic());
    try {
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true,
          new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
      b.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()));
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build a CA certificate: " + e.getMessage(), e);
    }
    return sign(b, keys.getPrivate());
  }

  /**
   * A server certificate for {@code host} (a DNS name, or an IP literal without brackets) with {@code
   * leafKey}, signed by the CA: the host is the subject alternative name (and the common name when it
   * fits), usable for TLS server authentication only.
   */
  public static X509Certificate leaf(X509Certificate ca, PrivateKey caKey, PublicKey leafKey, String host,
      Instant notBefore, Instant notAfter) {
    byte[] ip = CidrSet.parseLiteral(host);
    GeneralName san;
    try {
      san = ip != null
          ? new GeneralName(GeneralName.iPAddress, InetAddress.getByAddress(ip).getHostAddress())
          : new GeneralName(GeneralName.dNSName, host);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException("host: " + host + " (expected: a DNS name or an IP address)", e);
    }
    X500NameBuilder subject = new X500NameBuilder(BCStyle.INSTANCE);
    boolean cn = host.length() <= MAX_CN;
    if (cn) {
      subject.addRDN(BCStyle.CN, host);
    }
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(X500Name.getInstance(
        ca.getSubjectX500Principal().getEncoded()), serial(), Date.from(notBefore), Date.from(notAfter),
        subject.build(), leafKey);
    try {
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      boolean rsa = leafKey.getAlgorithm().equals("RSA");
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true,
          new KeyUsage(KeyUsage.digitalSignature | (rsa ? KeyUsage.keyEncipherment : 0)));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      // RFC 5280 §4.2.1.6: with an empty subject the alternative name must be critical
      b.addExtension(Extension.subjectAlternativeName, !cn, new GeneralNames(san));
      b.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(leafKey));
      b.addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(ca));
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build a certificate for " + host + ": " + e.getMessage(), e);
    }
    return sign(b, caKey);
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) {
    try {
      return new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder(CaKeys.signatureAlgorithm(key)).build(key)));
    } catch (OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign a certificate with the " + key.getAlgorithm() + " key: "
          + e.getMessage(), e);
    }
  }

  /** A random positive 127-bit serial number (RFC 5280: at most 20 octets, CA/B: at least 64 random bits). */
  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).setBit(126);
  }
}
