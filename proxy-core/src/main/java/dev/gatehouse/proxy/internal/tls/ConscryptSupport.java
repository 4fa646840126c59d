package dev.gatehouse.proxy.internal.tls;

import java.security.Provider;
import org.conscrypt.Conscrypt;

/**
 * The one class that names Conscrypt's API: loaded only after {@link TlsProviders} found {@code
 * org.conscrypt.Conscrypt} on the class path, so that without the optional jar nothing here is resolved.
 */
final class ConscryptSupport {
  private ConscryptSupport() {}

  /**
   * A provider of Conscrypt's TLS, not installed in {@link java.security.Security}: only the contexts
   * made from it use it.
   *
   * @throws UnsatisfiedLinkError (or another {@link LinkageError} or runtime exception) when its native
   *     library does not load on this platform
   */
  static Provider newProvider() {
    Conscrypt.checkAvailability();
    // its own trust manager is not needed: the JDK's verify client certificates, as without it
    return Conscrypt.newProviderBuilder().setName("Conscrypt").provideTrustManager(false).build();
  }

  /** Conscrypt's version, e.g. {@code 2.5.2}. */
  static String version() {
    Conscrypt.Version v = Conscrypt.version();
    return v == null ? "?" : v.major() + "." + v.minor() + "." + v.patch();
  }
}
