package dev.gatehouse.proxy.reverse;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Certificates made in the test: a CA, and leaves for names and 127.0.0.1, written as PEM files. */
final class TestCerts {
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A certificate with its key and the PEM files holding them. */
  record Issued(X509Certificate cert, KeyPair keys, Path chain, Path key) {}

  private TestCerts() {}

  static Issued ca(Path dir, String name) throws Exception {
    KeyPair kp = keyPair();
    X500Name subject = new X500Name("CN=" + name);
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(), notBefore(), notAfter(),
        subject, kp.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    X509Certificate cert = sign(b, kp);
    return write(dir, name, cert, kp, List.of(cert));
  }

  /** A leaf for {@code cn} with DNS names {@code names} and IP 127.0.0.1, signed by {@code issuer} (or self-signed). */
  static Issued leaf(Path dir, String file, Issued issuer, String cn, String... names) throws Exception {
    KeyPair kp = keyPair();
    X500Name subject = new X500Name("CN=" + cn);
    X500Name issuerName = issuer == null ? subject
        : new X500Name(issuer.cert().getSubjectX500Principal().getName());
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName, serial(), notBefore(), notAfter(),
        subject, kp.getPublic());
    List<GeneralName> sans = new ArrayList<>();
    for (String n : names) {
      sans.add(new GeneralName(GeneralName.dNSName, n));
    }
    sans.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(new GeneralName[0])));
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    X509Certificate cert = sign(b, issuer == null ? kp : issuer.keys());
    List<X509Certificate> chain = new ArrayList<>();
    chain.add(cert);
    if (issuer != null) {
      chain.add(issuer.cert());
    }
    return write(dir, file, cert, kp, chain);
  }

  private static KeyPair keyPair() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static X509Certificate sign(JcaX509v3CertificateBuilder b, KeyPair signer) throws Exception {
    return new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
  }

  private static BigInteger serial() {
    return new BigInteger(64, RANDOM).add(BigInteger.ONE);
  }

  private static Date notBefore() {
    return Date.from(Instant.now().minus(Duration.ofHours(1)));
  }

  private static Date notAfter() {
    return Date.from(Instant.now().plus(Duration.ofDays(30)));
  }

  private static Issued write(Path dir, String file, X509Certificate cert, KeyPair kp, List<X509Certificate> chain)
      throws Exception {
    StringBuilder pem = new StringBuilder();
    for (X509Certificate c : chain) {
      pem.append(pem("CERTIFICATE", c.getEncoded()));
    }
    Path chainFile = dir.resolve(file + ".pem");
    Path keyFile = dir.resolve(file + ".key");
    writeAtomically(chainFile, pem.toString());
    writeAtomically(keyFile, pem("PRIVATE KEY", kp.getPrivate().getEncoded()));
    return new Issued(cert, kp, chainFile, keyFile);
  }

  /** A client context trusting only {@code ca}. */
  static javax.net.ssl.SSLContext trusting(Issued ca) throws Exception {
    java.security.KeyStore ts = java.security.KeyStore.getInstance("PKCS12");
    ts.load(null, null);
    ts.setCertificateEntry("ca", ca.cert());
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
        javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ts);
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /** A server context with {@code cert}, optionally requiring client certificates from {@code clientCa}. */
  static javax.net.ssl.SSLContext serving(Issued cert, Issued clientCa) {
    java.security.KeyStore ks = dev.gatehouse.proxy.internal.tls.Pem.keyStore("test", cert.chain(), cert.key());
    return dev.gatehouse.proxy.internal.tls.Pem.context(dev.gatehouse.proxy.internal.tls.Pem.keyManagers(ks, new char[0]),
        clientCa == null ? null : dev.gatehouse.proxy.internal.tls.Pem.trustManagers(
            dev.gatehouse.proxy.internal.tls.Pem.trustStore(List.of(clientCa.cert()))));
  }

  static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  static void writeAtomically(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.US_ASCII);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
