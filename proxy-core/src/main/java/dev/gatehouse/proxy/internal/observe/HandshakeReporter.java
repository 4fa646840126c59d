package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.events.TlsHandshake;
import dev.gatehouse.proxy.internal.tls.ObservedSslEngine;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

/** Reports each TLS handshake of a listener's engines to {@link Telemetry} as a {@link TlsHandshake}. */
final class HandshakeReporter implements ObservedSslEngine.Observer {
  private final Telemetry telemetry;

  HandshakeReporter(Telemetry telemetry) {
    this.telemetry = telemetry;
  }

  @Override
  public void completed(SSLEngine engine) {
    SSLSession s = engine.getSession();
    telemetry.tlsHandshake(new Handshake(null, s.getProtocol(), s.getCipherSuite(), peer(engine)));
  }

  @Override
  public void failed(SSLEngine engine, SSLException failure) {
    telemetry.tlsHandshake(new Handshake(failure, null, null, peer(engine)));
  }

  private static String peer(SSLEngine engine) {
    String h = engine.getPeerHost();
    return h == null ? null : h + ":" + engine.getPeerPort();
  }

  /** One handshake's outcome. */
  static final class Handshake implements TlsHandshake {
    private final Throwable failure;
    private final String protocol;
    private final String cipherSuite;
    private final String peer;

    Handshake(Throwable failure, String protocol, String cipherSuite, String peer) {
      this.failure = failure;
      this.protocol = protocol;
      this.cipherSuite = cipherSuite;
      this.peer = peer;
    }

    @Override
    public boolean succeeded() {
      return failure == null;
    }

    @Override
    public Optional<Throwable> failure() {
      return Optional.ofNullable(failure);
    }

    @Override
    public Optional<String> protocol() {
      return Optional.ofNullable(protocol);
    }

    @Override
    public Optional<String> cipherSuite() {
      return Optional.ofNullable(cipherSuite);
    }

    @Override
    public Optional<String> peer() {
      return Optional.ofNullable(peer);
    }

    @Override
    public String toString() {
      return failure == null ? "TlsHandshake(" + protocol + " " + cipherSuite + ")" : "TlsHandshake(failed: " + failure + ")";
    }
  }
}
