package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {

  @TempDir
  Path dir;

  @Test
  void generatedAuthorityIsAnEcdsaCaThatMaySignOnlyServerCertificates() {
    CertificateAuthority ca = CertificateAuthority.generate("Test interception CA", Duration.ofDays(30));

    assertThat(ca.certificate().getSubjectX500Principal().getName()).isEqualTo("CN=Test interception CA");
    assertThat(ca.certificate().getIssuerX500Principal()).isEqualTo(ca.certificate().getSubjectX500Principal());
    assertThat(ca.certificate().getBasicConstraints()).isEqualTo(0); // CA, path length 0
    assertThat(ca.certificate().getKeyUsage()[5]).as("keyCertSign").isTrue();
    assertThat(ca.certificate().getPublicKey().getAlgorithm()).isEqualTo("EC");
    assertThat(ca.certificate().getNotAfter().toInstant())
        .isBetween(Instant.now().plus(Duration.ofDays(29)), Instant.now().plus(Duration.ofDays(31)));
    assertThat(ca.toString()).startsWith("CertificateAuthority(CN=Test interception CA, valid until ")
        .doesNotContain("PRIVATE");
  }

  @Test
  void writtenPemFilesLoadBackAndTheKeyFileIsPrivate() throws Exception {
    CertificateAuthority ca = CertificateAuthority.generate("Round trip CA");
    Path cert = dir.resolve("ca.pem");
    Path key = dir.resolve("ca-key.pem");

    ca.writePem(cert, key);
    CertificateAuthority loaded = CertificateAuthority.fromPem(cert, key);

    assertThat(loaded.certificate()).isEqualTo(ca.certificate());
    assertThat(Files.readString(cert)).startsWith("-----BEGIN CERTIFICATE-----\n").isEqualTo(ca.certificatePem());
    assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----\n");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
  }

  @Test
  void writePemNeverOverwritesAnExistingFile() throws Exception {
    Path cert = dir.resolve("ca.pem");
    Path key = dir.resolve("ca-key.pem");
    Files.writeString(cert, "installed everywhere");

    assertThatThrownBy(() -> CertificateAuthority.generate("Second CA").writePem(cert, key))
        .isInstanceOf(FileAlreadyExistsException.class)
        .hasMessage(cert + ": writePem: the file exists (expected: a new file; a CA clients trust is not overwritten)");
    assertThat(Files.readString(cert)).isEqualTo("installed everywhere");
    assertThat(key).doesNotExist();
  }

  @Test
  void loadsTheFirstKeyEntryOfAPkcs12File() throws Exception {
    CertificateAuthority ca = CertificateAuthority.generate("PKCS12 CA");
    Path cert = dir.resolve("ca.pem");
    Path key = dir.resolve("ca-key.pem");
    ca.writePem(cert, key);
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("ca", CertificateAuthority.fromPem(cert, key).privateKey(), "secret".toCharArray(),
        new Certificate[] {ca.certificate()});
    Path p12 = dir.resolve("ca.p12");
    try (var out = Files.newOutputStream(p12)) {
      ks.store(out, "secret".toCharArray());
    }

    assertThat(CertificateAuthority.fromPkcs12(p12, "secret").certificate()).isEqualTo(ca.certificate());
    assertThatThrownBy(() -> CertificateAuthority.fromPkcs12(p12, "wrong"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("certificateAuthority: " + p12 + " (expected: the right password)");
  }

  @Test
  void refusesACertificateThatIsNoCa() throws Exception {
    // keytool's default self-signed certificate has no basicConstraints: an end-entity certificate
    Path p12 = dir.resolve("leaf.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "leaf", "-keyalg", "EC", "-groupname",
        "secp256r1", "-dname", "CN=not a ca", "-validity", "2", "-keystore", p12.toString(), "-storetype", "PKCS12",
        "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    assertThat(p.waitFor()).isZero();

    assertThatThrownBy(() -> CertificateAuthority.fromPkcs12(p12, "changeit"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("certificateAuthority: " + p12 + " holds CN=not a ca (expected: a CA certificate, with "
            + "basicConstraints CA:TRUE)");
  }

  @Test
  void refusesAKeyThatBelongsToAnotherCertificate() throws Exception {
    Path cert = dir.resolve("a.pem");
    Path key = dir.resolve("a-key.pem");
    CertificateAuthority.generate("CA A").writePem(cert, key);
    Path otherCert = dir.resolve("b.pem");
    Path otherKey = dir.resolve("b-key.pem");
    CertificateAuthority.generate("CA B").writePem(otherCert, otherKey);

    assertThatThrownBy(() -> CertificateAuthority.fromPem(cert, otherKey))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("certificateAuthority: " + otherKey + " (expected: the private key of CN=CA A in " + cert + ")");
  }

  @Test
  void missingFilesAndBadSettingsAreNamed() {
    Path missing = dir.resolve("nope.pem");
    assertThatThrownBy(() -> CertificateAuthority.fromPem(missing, missing))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("certificateAuthority: " + missing + " (expected: a readable file)");
    assertThatThrownBy(() -> CertificateAuthority.generate(" "))
        .hasMessage("commonName: \" \" (expected: 1-64 characters)");
    assertThatThrownBy(() -> CertificateAuthority.generate("CA", Duration.ZERO))
        .hasMessage("validity: PT0S (expected: > 0)");
    assertThatThrownBy(() -> CertificateAuthority.fromPem(null, missing)).hasMessage("certificatePem");
  }
}
