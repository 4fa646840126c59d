package dev.gatehouse.proxy.internal.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.StandardConstants;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Chooses the listener's certificate by the name the client asked for (SNI): an exact DNS name first,
 * then a wildcard ({@code *.example.com} covers one label), else the first certificate. Only
 * certificates whose key suits the handshake's signature type are candidates, as the JDK's own key
 * managers do. A plain JDK engine stays in use, so ALPN (HTTP/2) works as usual.
 */
final class SniKeyManager extends X509ExtendedKeyManager {

  /** One certificate: its alias in the key store and the DNS names it serves, lower case. */
  record Entry(String alias, List<String> names) {}

  private final X509ExtendedKeyManager delegate;
  private final List<Entry> entries;

  SniKeyManager(X509ExtendedKeyManager delegate, List<Entry> entries) {
    this.delegate = delegate;
    this.entries = List.copyOf(entries);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return choose(keyType, issuers, engine == null ? null : engine.getHandshakeSession());
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    SSLSession session = socket instanceof SSLSocket ? ((SSLSocket) socket).getHandshakeSession() : null;
    return choose(keyType, issuers, session);
  }

  private String choose(String keyType, Principal[] issuers, SSLSession session) {
    String[] candidates = delegate.getServerAliases(keyType, issuers);
    if (candidates == null || candidates.length == 0) {
      return null;
    }
    String requested = requestedName(session);
    if (requested != null) {
      for (Entry e : entries) {
        if (contains(candidates, e.alias()) && e.names().contains(requested)) {
          return e.alias();
        }
      }
      int dot = requested.indexOf('.');
      if (dot > 0) {
        String wildcard = "*" + requested.substring(dot);
        for (Entry e : entries) {
          if (contains(candidates, e.alias()) && e.names().contains(wildcard)) {
            return e.alias();
          }
        }
      }
    }
    for (Entry e : entries) {
      if (contains(candidates, e.alias())) {
        return e.alias();
      }
    }
    return null;
  }

  private static String requestedName(SSLSession session) {
    if (!(session instanceof ExtendedSSLSession)) {
      return null;
    }
    for (SNIServerName n : ((ExtendedSSLSession) session).getRequestedServerNames()) {
      if (n.getType() == StandardConstants.SNI_HOST_NAME && n instanceof SNIHostName) {
        return ((SNIHostName) n).getAsciiName().toLowerCase(Locale.ROOT);
      }
    }
    return null;
  }

  private static boolean contains(String[] aliases, String alias) {
    for (String a : aliases) {
      if (a.equalsIgnoreCase(alias)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return delegate.getServerAliases(keyType, issuers);
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return null;
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return delegate.getCertificateChain(alias);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return delegate.getPrivateKey(alias);
  }
}
