package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.internal.tls.ClientTlsContext;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;
import org.jspecify.annotations.Nullable;

/**
 * How the proxy speaks TLS to an upstream: trust (the JDK's roots or a custom store), an optional
 * client certificate, whether the certificate must name the host, and the protocols to offer. Made
 * once per configuration (a group's {@code upstreamTls}, the interception's trust) and shared by the
 * connections that use it.
 */
public final class ClientTls {
  static {
    ClientTlsContext.install(t -> t.context);
  }

  private final ClientTlsContext context;

  private ClientTls(ClientTlsContext context) {
    this.context = context;
  }

  /**
   * TLS with the given material.
   *
   * @param keyManagers the client certificate (mTLS), or null for none
   * @param trustManagers the trusted roots, or null for the JDK's
   * @param verifyHostname check that the certificate names the host (RFC 2818), as browsers do
   * @param protocols protocols to enable, or null for the JDK's defaults
   */
  public static ClientTls of(KeyManager @Nullable [] keyManagers, TrustManager @Nullable [] trustManagers,
      boolean verifyHostname, String @Nullable [] protocols) {
    return new ClientTls(new ClientTlsContext(keyManagers, trustManagers, verifyHostname, protocols));
  }

  /** The JDK's default trust store, host names verified. */
  public static ClientTls defaults() {
    return Defaults.INSTANCE;
  }

  private static final class Defaults {
    static final ClientTls INSTANCE = of(null, null, true, null);
  }
}
