package dev.gatehouse.proxy.internal.tls;

import dev.gatehouse.proxy.internal.pool.Connector;
import dev.gatehouse.proxy.spi.ClientTls;
import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Function;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The engine's side of a {@link ClientTls}: the TLS context its connections to upstreams use (the
 * trust, the client certificate, host-name verification and protocols it describes). Why a server's
 * certificate was refused is remembered per engine, so that the 502's log line says it.
 */
public final class ClientTlsContext {
  private static volatile Function<ClientTls, ClientTlsContext> access;

  private final boolean verifyHostname;
  private final String[] protocols;
  private final SSLContext configured;
  private final Map<SSLEngine, String> refusals = Collections.synchronizedMap(new WeakHashMap<>());

  /**
   * @param keyManagers the client certificate (mTLS), or null for none
   * @param trustManagers the trusted roots, or null for the JDK's
   * @param verifyHostname check that the certificate names the host (RFC 2818), as browsers do
   * @param protocols protocols to enable, or null for the JDK's defaults
   */
  public ClientTlsContext(KeyManager[] keyManagers, TrustManager[] trustManagers, boolean verifyHostname,
      String[] protocols) {
    this.verifyHostname = verifyHostname;
    this.protocols = protocols == null ? null : protocols.clone();
    TrustManager[] tms = trustManagers != null ? trustManagers : defaultTrustManagers();
    for (int i = 0; i < tms.length; i++) {
      if (tms[i] instanceof X509ExtendedTrustManager) {
        tms[i] = new Recording((X509ExtendedTrustManager) tms[i]);
      }
    }
    SSLContext context = Pem.context(keyManagers, tms);
    this.configured = new DelegatingSslContext(() -> context, this::configure);
  }

  /** Lets {@link ClientTls} hand out its context without a public accessor; called once, by it. */
  public static void install(Function<ClientTls, ClientTlsContext> accessor) {
    access = accessor;
  }

  /** The context of {@code tls}, or of {@link ClientTls#defaults()} when it is null. */
  public static ClientTlsContext of(ClientTls tls) {
    ClientTls t = tls != null ? tls : ClientTls.defaults();
    return access.apply(t);
  }

  private static TrustManager[] defaultTrustManagers() {
    try {
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init((KeyStore) null);
      return tmf.getTrustManagers().clone();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("cannot load the JDK's trusted certificates: " + e.getMessage(), e);
    }
  }

  private SSLEngine configure(SSLEngine engine) {
    engine.setUseClientMode(true);
    SSLParameters p = engine.getSSLParameters();
    if (verifyHostname) {
      p.setEndpointIdentificationAlgorithm("HTTPS");
    }
    if (protocols != null) {
      p.setProtocols(protocols);
    }
    p.setApplicationProtocols(new String[] {"http/1.1"});
    engine.setSSLParameters(p);
    return engine;
  }

  /** A context whose engines are configured as above. */
  public SSLContext sslContext() {
    return configured;
  }

  boolean verifyHostname() {
    return verifyHostname;
  }

  /** Why {@code engine}'s server certificate was refused, if it was (and forgets it). */
  public String refusal(SSLEngine engine) {
    return engine == null ? null : refusals.remove(engine);
  }

  /** Delegates every check and remembers why a server certificate was refused. */
  private final class Recording extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;

    Recording(X509ExtendedTrustManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      try {
        delegate.checkServerTrusted(chain, authType, engine);
      } catch (CertificateException e) {
        refusals.put(engine, "certificate refused: " + Connector.rootMessage(e));
        throw e;
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      delegate.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }
}
