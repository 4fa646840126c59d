package dev.gatehouse.proxy.internal.tls;

import java.security.GeneralSecurityException;
import java.security.Provider;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which TLS implementation serves server-side handshakes: the JDK's (SunJSSE) or Conscrypt (BoringSSL
 * through JNI, the optional {@code org.conscrypt:conscrypt-openjdk-uber}), chosen once per listener or
 * interception by {@link #resolve}. Conscrypt is looked up once per class loader; the look-up never
 * fails, it says why Conscrypt cannot be used ({@link Lookup#problem()}).
 */
public final class TlsProviders {
  private static final Logger log = LoggerFactory.getLogger(TlsProviders.class);

  /** The artifact that brings Conscrypt, as the error messages name it. */
  public static final String CONSCRYPT_ARTIFACT = "org.conscrypt:conscrypt-openjdk-uber";
  /** The platforms whose native library the uber jar holds. */
  public static final String CONSCRYPT_PLATFORMS = "linux-x86_64, osx-x86_64, windows-x86_64, windows-x86";
  private static final String CONSCRYPT_CLASS = "org.conscrypt.Conscrypt";
  private static final String NOT_ON_CLASS_PATH = CONSCRYPT_ARTIFACT + " is not on the class path";

  /** The choice of a setting ({@code ServerTls.Provider}'s names). */
  public enum Choice {
    AUTO, JDK, CONSCRYPT
  }

  /**
   * Conscrypt's provider and what it supports, or why it cannot be used.
   *
   * @param provider the provider, null when {@code problem} says why not
   * @param version its version, e.g. {@code 2.5.2}
   * @param protocols the protocols its engines support
   * @param cipherSuites the suites its engines support
   * @param problem null, or why Conscrypt is not usable (not on the class path, native library missing)
   */
  public record Lookup(Provider provider, String version, List<String> protocols, List<String> cipherSuites,
      String problem) {
    boolean missing() {
      return problem != null;
    }
  }

  /**
   * The provider chosen for a listener.
   *
   * @param provider the JCA provider to make contexts with, or null for the JDK's default
   * @param name {@code JDK} or {@code CONSCRYPT}
   * @param description for logs, e.g. {@code Conscrypt 2.5.2 (BoringSSL)}
   */
  public record Resolved(Provider provider, String name, String description) {
    static final Resolved JDK = new Resolved(null, "JDK", "the JDK's (SunJSSE)");

    /** Whether this is Conscrypt. */
    public boolean conscrypt() {
      return provider != null;
    }
  }

  private static volatile Lookup conscrypt;

  private TlsProviders() {}

  /** Conscrypt as found by this class's loader (looked up once). */
  public static Lookup conscrypt() {
    Lookup l = conscrypt;
    if (l == null) {
      synchronized (TlsProviders.class) {
        l = conscrypt;
        if (l == null) {
          l = lookUp(TlsProviders.class.getClassLoader());
          conscrypt = l;
        }
      }
    }
    return l;
  }

  /** Looks Conscrypt up through {@code loader}: whether it is there, loads its native library, and what it supports. */
  static Lookup lookUp(ClassLoader loader) {
    try {
      Class.forName(CONSCRYPT_CLASS, false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      return new Lookup(null, null, List.of(), List.of(), NOT_ON_CLASS_PATH);
    }
    Provider p;
    String version;
    try {
      p = ConscryptSupport.newProvider();
      version = ConscryptSupport.version();
    } catch (LinkageError | RuntimeException e) {
      return new Lookup(null, null, List.of(), List.of(), "Conscrypt's native library does not load on "
          + platform() + " (the uber jar holds " + CONSCRYPT_PLATFORMS + "): " + rootMessage(e));
    }
    try {
      SSLContext ctx = SSLContext.getInstance("TLS", p);
      ctx.init(null, null, null);
      SSLEngine e = ctx.createSSLEngine();
      e.setUseClientMode(false);
      return new Lookup(p, version, List.of(e.getSupportedProtocols()), List.of(e.getSupportedCipherSuites()), null);
    } catch (GeneralSecurityException | RuntimeException | LinkageError e) {
      return new Lookup(null, version, List.of(), List.of(), "Conscrypt " + version + " cannot make a TLS context: "
          + rootMessage(e));
    }
  }

  /**
   * The provider for a listener configured with {@code protocols} and {@code cipherSuites} (null: the
   * defaults). {@code JDK} is the JDK's; {@code CONSCRYPT} is Conscrypt or an exception naming the
   * artifact or the setting it cannot honour; {@code AUTO} is Conscrypt when it is there and can honour
   * the settings, else the JDK's.
   *
   * @param setting the setting's name for messages, e.g. {@code tls.provider}
   * @throws IllegalStateException {@code CONSCRYPT} without a usable Conscrypt
   * @throws IllegalArgumentException {@code CONSCRYPT} with protocols or suites it cannot honour
   */
  public static Resolved resolve(String setting, Choice choice, List<String> protocols, List<String> cipherSuites) {
    return resolve(setting, choice, protocols, cipherSuites, conscrypt());
  }

  static Resolved resolve(String setting, Choice choice, List<String> protocols, List<String> cipherSuites,
      Lookup found) {
    if (choice == Choice.JDK) {
      return Resolved.JDK;
    }
    if (found.missing()) {
      if (choice == Choice.CONSCRYPT) {
        throw new IllegalStateException(setting + ": CONSCRYPT needs " + CONSCRYPT_ARTIFACT + " (expected: the "
            + "dependency " + CONSCRYPT_ARTIFACT + " added to the application, on a platform it covers, or AUTO or "
            + "JDK): " + found.problem());
      }
      if (found.problem().equals(NOT_ON_CLASS_PATH)) {
        log.debug("TLS provider: the JDK's ({})", found.problem());
      } else {
        // the application added the jar, so it meant Conscrypt to serve: say why it does not
        log.warn("TLS provider: the JDK's, since {}", found.problem());
      }
      return Resolved.JDK;
    }
    String unsupported = unsupported(protocols, cipherSuites, found);
    if (unsupported != null) {
      if (choice == Choice.CONSCRYPT) {
        throw new IllegalArgumentException(unsupported);
      }
      log.info("TLS provider: the JDK's, since Conscrypt cannot honour the settings: {}", unsupported);
      return Resolved.JDK;
    }
    return new Resolved(found.provider(), "CONSCRYPT", "Conscrypt " + found.version() + " (BoringSSL)");
  }

  /** Why Conscrypt cannot honour the settings (a message naming the setting), or null when it can. */
  private static String unsupported(List<String> protocols, List<String> cipherSuites, Lookup found) {
    for (String p : protocols) {
      if (!found.protocols().contains(p)) {
        return "tls.protocols: " + p + " (expected: with Conscrypt, one of " + found.protocols() + ")";
      }
    }
    if (cipherSuites == null) {
      return null;
    }
    List<String> tls13 = new ArrayList<>();
    for (String s : cipherSuites) {
      if (!found.cipherSuites().contains(s)) {
        return "tls.cipherSuites: " + s + " (expected: with Conscrypt, a suite it supports, such as "
            + "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)";
      }
      if (isTls13(s)) {
        tls13.add(s);
      }
    }
    List<String> all13 = new ArrayList<>();
    for (String s : found.cipherSuites()) {
      if (isTls13(s)) {
        all13.add(s);
      }
    }
    if (protocols.contains("TLSv1.3") && !tls13.containsAll(all13)) {
      return "tls.cipherSuites: " + cipherSuites + " (expected: with Conscrypt, every TLS 1.3 suite " + all13
          + ", since BoringSSL always enables all of them; or the JDK's provider)";
    }
    return null;
  }

  private static boolean isTls13(String suite) {
    return suite.startsWith("TLS_AES_") || suite.startsWith("TLS_CHACHA20_");
  }

  /** A server-side context of {@code provider} (null: the JDK's) with these key and trust managers. */
  public static SSLContext context(Resolved provider, javax.net.ssl.KeyManager[] km, javax.net.ssl.TrustManager[] tm) {
    try {
      SSLContext ctx = provider.conscrypt() ? SSLContext.getInstance("TLS", provider.provider())
          : SSLContext.getInstance("TLS");
      ctx.init(km, tm, null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot create a TLS context (" + provider.description() + "): "
          + e.getMessage(), e);
    }
  }

  /**
   * A server engine of {@code provider} as every server context here hands it out: with Conscrypt, made
   * to free its native state as soon as its connection closes, even when the client left without {@code
   * close_notify} (see {@link ReleasingSslEngine}); with the JDK's TLS, made to refuse a client's TLS 1.2
   * renegotiation, which BoringSSL refuses itself (see {@link RenegotiationRefusingSslEngine}).
   */
  public static SSLEngine serverEngine(Resolved provider, SSLEngine engine) {
    return provider.conscrypt() ? new ReleasingSslEngine(engine) : new RenegotiationRefusingSslEngine(engine);
  }

  /**
   * A server context of {@code provider} with these key and trust managers whose engines, with
   * are {@link #serverEngine}s, and whose key managers hand Conscrypt its own form of their keys (made
   * once per alias).
   */
  public static SSLContext serverContext(Resolved provider, javax.net.ssl.KeyManager[] km,
      javax.net.ssl.TrustManager[] tm) {
    if (provider.conscrypt() && km != null) {
      km = km.clone();
      for (int i = 0; i < km.length; i++) {
        if (km[i] instanceof javax.net.ssl.X509ExtendedKeyManager x && !(x instanceof KeyFormKeyManager)) {
          km[i] = new KeyFormKeyManager(x, keyForm(provider));
        }
      }
    }
    SSLContext ctx = context(provider, km, tm);
    return new DelegatingSslContext(() -> ctx, engine -> serverEngine(provider, engine));
  }

  /**
   * Turns a private key into {@code provider}'s own form (for Conscrypt, a key backed by a native
   * {@code EVP_PKEY}), or returns it as it is when the provider cannot.
   */
  public static java.util.function.UnaryOperator<java.security.PrivateKey> keyForm(Resolved provider) {
    return key -> {
      if (!provider.conscrypt() || key == null || key.getEncoded() == null) {
        return key;
      }
      try {
        return java.security.KeyFactory.getInstance(key.getAlgorithm(), provider.provider())
            .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(key.getEncoded()));
      } catch (GeneralSecurityException | RuntimeException e) {
        log.debug("TLS key kept in the JDK's form ({}): {}", key.getAlgorithm(), e.toString());
        return key;
      }
    };
  }

  /** The JDK's supported protocols and suites, or Conscrypt's, for validation. */
  public static List<String> supportedCipherSuites(Resolved provider) {
    if (provider.conscrypt()) {
      return conscrypt().cipherSuites();
    }
    try {
      return Arrays.asList(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites());
    } catch (GeneralSecurityException e) {
      return List.of();
    }
  }

  private static String platform() {
    return System.getProperty("os.name", "?").toLowerCase(Locale.ROOT).replace(' ', '-') + "-"
        + System.getProperty("os.arch", "?");
  }

  private static String rootMessage(Throwable t) {
    Throwable r = t;
    while (r.getCause() != null && r.getCause() != r) {
      r = r.getCause();
    }
    return r.getClass().getSimpleName() + (r.getMessage() == null ? "" : ": " + r.getMessage());
  }
}
