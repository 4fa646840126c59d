package dev.gatehouse.proxy.internal.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A key manager that hands out its delegate's private keys in the TLS implementation's own form, made
 * once per alias: Conscrypt otherwise converts a JDK key to a native one in every handshake (and frees
 * it only through a finalizer). Everything else is the delegate's.
 */
final class KeyFormKeyManager extends X509ExtendedKeyManager {
  private final X509ExtendedKeyManager delegate;
  private final UnaryOperator<PrivateKey> keyForm;
  private final Map<String, PrivateKey> keys = new ConcurrentHashMap<>();

  KeyFormKeyManager(X509ExtendedKeyManager delegate, UnaryOperator<PrivateKey> keyForm) {
    this.delegate = delegate;
    this.keyForm = keyForm;
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    if (alias == null) {
      return delegate.getPrivateKey(null);
    }
    PrivateKey k = keys.get(alias);
    if (k == null) {
      PrivateKey original = delegate.getPrivateKey(alias);
      if (original == null) {
        return null;
      }
      k = keys.computeIfAbsent(alias, a -> keyForm.apply(original));
    }
    return k;
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return delegate.getCertificateChain(alias);
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return delegate.getClientAliases(keyType, issuers);
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return delegate.chooseClientAlias(keyType, issuers, socket);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return delegate.getServerAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return delegate.chooseServerAlias(keyType, issuers, socket);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return delegate.chooseEngineClientAlias(keyType, issuers, engine);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return delegate.chooseEngineServerAlias(keyType, issuers, engine);
  }
}
