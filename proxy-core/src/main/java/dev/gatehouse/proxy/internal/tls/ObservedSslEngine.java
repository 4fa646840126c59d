package dev.gatehouse.proxy.internal.tls;

import java.nio.ByteBuffer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

/**
 * An {@link SSLEngine} that passes everything to the JDK's engine and tells its {@link Observer} once
 * how the handshake ended: completed ({@code FINISHED}) or failed (an {@link SSLException} before that).
 * Undertow's TLS conduit turns a failed handshake into a closed connection and a debug line; the proxy
 * wants the reason (a client that does not trust the certificate sends an alert saying so). A client that
 * connects and leaves without a byte is neither. Used by the listener's handshake events and by the TLS
 * handover of an intercepted tunnel.
 */
public final class ObservedSslEngine extends ForwardingSslEngine {
  /** Hears how a handshake ended, once, on the thread that drives the engine. */
  @FunctionalInterface
  public interface Observer {
    /** The handshake of {@code engine} completed; its session is the negotiated one. */
    default void completed(SSLEngine engine) {}

    /** The handshake of {@code engine} failed with {@code failure}. */
    void failed(SSLEngine engine, SSLException failure);
  }

  private final Observer observer;
  private boolean reported;

  /** Observes {@code delegate} for {@code observer}. */
  public ObservedSslEngine(SSLEngine delegate, Observer observer) {
    super(delegate);
    this.observer = observer;
  }

  /** A context whose engines are observed by {@code observer}. */
  public static SSLContext wrap(SSLContext context, Observer observer) {
    return new DelegatingSslContext(() -> context, e -> new ObservedSslEngine(e, observer));
  }

  private SSLEngineResult observe(SSLEngineResult r) {
    if (!reported && r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
      reported = true;
      observer.completed(delegate);
    }
    return r;
  }

  private SSLException failed(SSLException e) {
    if (!reported) {
      reported = true;
      observer.failed(delegate, e);
    }
    return e;
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
    try {
      return observe(delegate.wrap(srcs, offset, length, dst));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
    try {
      return observe(delegate.unwrap(src, dsts, offset, length));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer src, ByteBuffer dst) throws SSLException {
    try {
      return observe(delegate.wrap(src, dst));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, ByteBuffer dst) throws SSLException {
    try {
      return observe(delegate.wrap(srcs, dst));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer dst) throws SSLException {
    try {
      return observe(delegate.unwrap(src, dst));
    } catch (SSLException e) {
      throw failed(e);
    }
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts) throws SSLException {
    try {
      return observe(delegate.unwrap(src, dsts));
    } catch (SSLException e) {
      throw failed(e);
    }
  }
}
