package dev.gatehouse.proxy.forward.internal.mitm;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;

/** Checks on a CA's key with the JDK alone (no BouncyCastle needed to load a CA). */
public final class CaKeys {
  private CaKeys() {}

  /**
   * The signature algorithm for a CA key: SHA-256 (SHA-384, SHA-512 for larger curves), or EdDSA.
   *
   * @throws IllegalArgumentException {@code a KEY key (expected: EC, RSA, Ed25519 or Ed448)}
   */
  public static String signatureAlgorithm(PrivateKey key) {
    switch (key.getAlgorithm()) {
      case "EC": {
        int bits = key instanceof ECKey ? ((ECKey) key).getParams().getCurve().getField().getFieldSize() : 256;
        return bits > 384 ? "SHA512withECDSA" : bits > 256 ? "SHA384withECDSA" : "SHA256withECDSA";
      }
      case "RSA":
        return "SHA256withRSA";
      case "Ed25519":
      case "Ed448":
        return key.getAlgorithm();
      default:
        throw new IllegalArgumentException("a " + key.getAlgorithm() + " key (expected: EC, RSA, Ed25519 or Ed448)");
    }
  }

  /** Whether {@code key} is the private key of {@code cert}: signs a probe and verifies it. */
  public static boolean matches(X509Certificate cert, PrivateKey key) {
    String alg = signatureAlgorithm(key);
    try {
      byte[] probe = "gatehouse CA key check".getBytes(StandardCharsets.US_ASCII);
      Signature sign = Signature.getInstance(alg);
      sign.initSign(key);
      sign.update(probe);
      byte[] sig = sign.sign();
      Signature verify = Signature.getInstance(alg);
      verify.initVerify(cert.getPublicKey());
      verify.update(probe);
      return verify.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }
}
