package dev.gatehouse.proxy.forward.internal.mitm;

/**
 * TLS interception uses two libraries the forward proxy declares as optional: BouncyCastle's {@code
 * bcpkix} (to mint certificates) and Caffeine (the bounded certificate cache). They are loaded only when
 * interception is configured; this checks for them up front so that a missing one is named at {@code
 * build()}, not discovered at the first intercepted connection.
 */
public final class OptionalDependencies {
  /** BouncyCastle's certificate builder, in {@code org.bouncycastle:bcpkix-jdk18on}. */
  public static final String BOUNCY_CASTLE = "org.bouncycastle:bcpkix-jdk18on";
  /** Caffeine, {@code com.github.ben-manes.caffeine:caffeine}. */
  public static final String CAFFEINE = "com.github.ben-manes.caffeine:caffeine";

  private OptionalDependencies() {}

  /** Fails unless both libraries interception needs are on the class path. */
  public static void requireInterception(String setting) {
    require(setting, "TLS interception", "org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder", BOUNCY_CASTLE);
    require(setting, "TLS interception", "com.github.benmanes.caffeine.cache.Caffeine", CAFFEINE);
  }

  /** Fails unless BouncyCastle is on the class path (making a certificate authority). */
  public static void requireBouncyCastle(String setting, String feature) {
    require(setting, feature, "org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder", BOUNCY_CASTLE);
  }

  /**
   * Fails with a message naming {@code artifact} unless {@code className} can be loaded.
   *
   * @throws IllegalStateException {@code setting: FEATURE needs ARTIFACT on the class path (expected: ...)}
   */
  static void require(String setting, String feature, String className, String artifact) {
    try {
      Class.forName(className, false, OptionalDependencies.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalStateException(setting + ": " + feature + " needs " + artifact + " on the class path "
          + "(expected: the dependency " + artifact + " added to the application)", e);
    }
  }
}
