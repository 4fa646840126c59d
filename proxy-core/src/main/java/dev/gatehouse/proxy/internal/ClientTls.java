package dev.gatehouse.proxy.internal;

import java.util.Objects;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * How the proxy speaks TLS to an upstream: the context (trust store, optional client certificate),
 * whether the certificate must name the host, and the protocols to offer.
 */
public final class ClientTls {
  private final SSLContext context;
  private final boolean verifyHostname;
  private final String[] protocols;
  private final SSLContext configured;

  /**
   * @param context trust (and key, for mTLS) material
   * @param verifyHostname check that the certificate names the host (RFC 2818), as browsers do
   * @param protocols protocols to enable, or null for the context's defaults
   */
  public ClientTls(SSLContext context, boolean verifyHostname, String[] protocols) {
    this.context = Objects.requireNonNull(context, "context");
    this.verifyHostname = verifyHostname;
    this.protocols = protocols == null ? null : protocols.clone();
    this.configured = new DelegatingSslContext(() -> context, this::configure);
  }

  /** The JDK's default trust store, host names verified. */
  public static ClientTls defaults() {
    return Defaults.INSTANCE;
  }

  private static final class Defaults {
    static final ClientTls INSTANCE;

    static {
      try {
        INSTANCE = new ClientTls(SSLContext.getDefault(), true, null);
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new ExceptionInInitializerError(e);
      }
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
  SSLContext sslContext() {
    return configured;
  }

  boolean verifyHostname() {
    return verifyHostname;
  }
}
