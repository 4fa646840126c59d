package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.internal.tls.TlsProviders;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * Server-side TLS contexts for the modules' own handshakes with clients (TLS interception presents a
 * minted certificate): made with Conscrypt when {@code org.conscrypt:conscrypt-openjdk-uber} is on the
 * class path and its native library loads, as the listener's {@code ServerTls.Provider.AUTO} does, else
 * with the JDK's TLS.
 */
public final class ServerContexts {
  private static volatile TlsProviders.Resolved auto;

  private ServerContexts() {}

  /** A server context presenting what {@code keyManagers} choose; no client certificates are asked for. */
  public static SSLContext of(KeyManager[] keyManagers) {
    return TlsProviders.serverContext(provider(), keyManagers.clone(), new TrustManager[0]);
  }

  /** {@code CONSCRYPT} or {@code JDK}: what {@link #of} uses. */
  public static String providerName() {
    return provider().name();
  }

  private static TlsProviders.Resolved provider() {
    TlsProviders.Resolved p = auto;
    if (p == null) {
      p = TlsProviders.resolve("tls.provider", TlsProviders.Choice.AUTO, List.of("TLSv1.3", "TLSv1.2"), null);
      auto = p;
    }
    return p;
  }
}
