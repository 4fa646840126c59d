package dev.gatehouse.proxy.forward.internal.mitm;

import dev.gatehouse.proxy.spi.ClientTls;
import dev.gatehouse.proxy.spi.KeyMaterial;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Whom the proxy trusts on the server leg of an intercepted tunnel, and why it refused a server: the
 * reason is written for the person who gets the {@code 502} (not trusted, expired, wrong name).
 */
public final class UpstreamTrust {
  /** Every reason this class writes starts with this, so that it can be found in a connect failure. */
  public static final String REASON_PREFIX = "the certificate of ";

  private final X509ExtendedTrustManager trustManager;
  private final String description;

  private UpstreamTrust(X509ExtendedTrustManager trustManager, String description) {
    this.trustManager = trustManager;
    this.description = description;
  }

  /**
   * The JDK's roots, or those of {@code pem} / {@code store} instead, plus the certificates of {@code
   * also}.
   *
   * @throws IllegalArgumentException naming a file that cannot be read
   */
  public static UpstreamTrust load(Path pem, Path store, String storePassword, List<Path> also) {
    try {
      List<X509Certificate> roots = new ArrayList<>();
      String description;
      if (pem != null) {
        roots.addAll(KeyMaterial.certificates("upstreamTrustPem", pem));
        description = pem.toString();
      } else if (store != null) {
        KeyStore ks = KeyMaterial.loadKeyStore("upstreamTrustStore", store, storePassword == null ? null
            : storePassword.toCharArray());
        roots.addAll(List.of(defaultManager(ks).getAcceptedIssuers()));
        description = store.toString();
      } else {
        roots.addAll(List.of(defaultManager(null).getAcceptedIssuers()));
        description = "the JDK's roots";
      }
      for (Path p : also) {
        roots.addAll(KeyMaterial.certificates("addUpstreamTrustPem", p));
        description += " + " + p;
      }
      X509ExtendedTrustManager tm = (X509ExtendedTrustManager) defaultManager(KeyMaterial.trustStore(roots));
      return new UpstreamTrust(tm, description);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot build the upstream trust store: " + e.getMessage(), e);
    }
  }

  private static X509TrustManager defaultManager(KeyStore ks) throws GeneralSecurityException {
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    for (TrustManager t : tmf.getTrustManagers()) {
      if (t instanceof X509ExtendedTrustManager) {
        return (X509TrustManager) t;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager");
  }

  /** TLS to servers: certificates verified against this trust, host names checked, the reasons classified. */
  public ClientTls clientTls() {
    return ClientTls.of(null, new TrustManager[] {new Explaining(trustManager)}, true, null);
  }

  /** TLS to servers that accepts any certificate for any name: for {@code dangerouslyTrustAnyUpstreamCertificate}. */
  public static ClientTls unverified() {
    return ClientTls.of(null, new TrustManager[] {new TrustingAll()}, false, null);
  }

  /**
   * The reason this class gave for refusing a server, found in the message of {@code failure} or its
   * causes; null when the failure was something else (connection refused, timeout, handshake failure).
   */
  public static String reasonIn(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String m = t.getMessage();
      int i = m == null ? -1 : m.indexOf(REASON_PREFIX);
      if (i >= 0) {
        return m.substring(i);
      }
    }
    return null;
  }

  /**
   * Why {@code chain} was refused for {@code host}, in words: the first of expired, not yet valid, not
   * trusted, wrong name that applies, from the JDK's exception.
   */
  static String explain(String host, X509Certificate[] chain, CertificateException e) {
    X509Certificate leaf = chain != null && chain.length > 0 ? chain[0] : null;
    String about = REASON_PREFIX + host;
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      CertPathValidatorException.Reason r = t instanceof CertPathValidatorException
          ? ((CertPathValidatorException) t).getReason() : null;
      if (t instanceof CertificateExpiredException || r == CertPathValidatorException.BasicReason.EXPIRED) {
        return about + validity(chain, true);
      }
      if (t instanceof CertificateNotYetValidException || r == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
        return about + validity(chain, false);
      }
      if (r == CertPathValidatorException.BasicReason.REVOKED) {
        return about + " has been revoked";
      }
    }
    String message = String.valueOf(e.getMessage());
    if (message.startsWith("No subject alternative") || message.startsWith("No name matching")) {
      return about + " does not name " + host + (leaf != null ? " (it names " + names(leaf) + ")" : "");
    }
    if (message.contains("PKIX path") || message.contains("certification path")) {
      return about + " is not trusted" + (leaf != null ? " (issued by "
          + leaf.getIssuerX500Principal().getName() + ", which is not a trusted authority)" : "");
    }
    return about + " was refused: " + rootMessage(e);
  }

  /** Which certificate of the chain is out of its validity, and since or until when. */
  private static String validity(X509Certificate[] chain, boolean expired) {
    Date now = new Date();
    for (int i = 0; chain != null && i < chain.length; i++) {
      X509Certificate c = chain[i];
      String who = i == 0 ? "" : " was issued by " + c.getSubjectX500Principal().getName() + ", which";
      if (expired && c.getNotAfter().before(now)) {
        return who + " has expired (not valid after " + c.getNotAfter().toInstant() + ")";
      }
      if (!expired && c.getNotBefore().after(now)) {
        return who + " is not valid yet (not before " + c.getNotBefore().toInstant() + ")";
      }
    }
    return expired ? " has expired" : " is not valid yet";
  }

  private static String names(X509Certificate cert) {
    List<String> out = new ArrayList<>();
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (Integer.valueOf(2).equals(san.get(0)) || Integer.valueOf(7).equals(san.get(0))) {
            out.add(String.valueOf(san.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // fall through to the subject
    }
    return out.isEmpty() ? cert.getSubjectX500Principal().getName() : String.join(", ", out);
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }

  @Override
  public String toString() {
    return description;
  }

  /**
   * Delegates every check; a refusal is re-thrown with the explained reason as its message (and no
   * cause: the connector reports the innermost message), the JDK's exception kept as suppressed.
   */
  private static final class Explaining extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;

    Explaining(X509ExtendedTrustManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      try {
        delegate.checkServerTrusted(chain, authType, engine);
      } catch (CertificateException e) {
        CertificateException explained = new CertificateException(
            explain(engine == null ? "the server" : engine.getPeerHost(), chain, e));
        explained.addSuppressed(e);
        throw explained;
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

  /** Accepts everything: only for hosts the user named in {@code dangerouslyTrustAnyUpstreamCertificate}. */
  private static final class TrustingAll extends X509ExtendedTrustManager {
    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("not a server");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      throw new CertificateException("not a server");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("not a server");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
