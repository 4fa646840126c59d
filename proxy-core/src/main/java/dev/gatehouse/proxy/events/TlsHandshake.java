package dev.gatehouse.proxy.events;

import java.util.Optional;

/** A TLS handshake with a client, shown to {@link ProxyListener#tlsHandshake}. */
public interface TlsHandshake {

  /** Whether the handshake completed. */
  boolean succeeded();

  /** Why it failed (e.g. no common protocol or cipher suite, a bad record); empty when it succeeded. */
  Optional<Throwable> failure();

  /** The negotiated protocol, e.g. {@code TLSv1.3}; empty when the handshake failed. */
  Optional<String> protocol();

  /** The negotiated cipher suite, e.g. {@code TLS_AES_128_GCM_SHA256}; empty when the handshake failed. */
  Optional<String> cipherSuite();

  /** The client's address as the TLS engine knows it ({@code host:port}), or empty. */
  Optional<String> peer();
}
