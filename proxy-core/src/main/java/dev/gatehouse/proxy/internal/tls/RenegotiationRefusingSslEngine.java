package dev.gatehouse.proxy.internal.tls;

import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/**
 * A listener's engine from the JDK's provider that refuses a client's TLS 1.2 renegotiation, as nginx
 * does and as BoringSSL (inside Conscrypt) does by default: a new handshake that the client starts on an
 * established connection fails the connection. Renegotiation is a known way to make a server spend
 * handshake CPU for free, HTTP/2 forbids it, and Undertow's conduit can leave a request on a connection
 * renegotiated mid-exchange unanswered. TLS 1.3 has no renegotiation: its post-handshake messages (key
 * updates) pass untouched. (The JDK's own switch, {@code jdk.tls.rejectClientInitiatedRenegotiation},
 * is a system property for the whole JVM.)
 */
final class RenegotiationRefusingSslEngine extends ForwardingSslEngine {
  private boolean established;
  private boolean refused;

  RenegotiationRefusingSslEngine(SSLEngine delegate) {
    super(delegate);
  }

  /** Once refused, the connection is over: every later call fails, so the handshake cannot go on either. */
  private void notRefused() throws SSLException {
    if (refused) {
      throw new SSLHandshakeException("client-initiated TLS renegotiation refused");
    }
  }

  /**
   * Notes the end of the first handshake (the server's Finished in a wrap, or the client's in an unwrap)
   * and, after it, refuses an unwrap that starts a new one.
   */
  private SSLEngineResult seen(SSLEngineResult r, boolean unwrap) throws SSLException {
    SSLEngineResult.HandshakeStatus hs = r.getHandshakeStatus();
    if (!established) {
      established = hs == SSLEngineResult.HandshakeStatus.FINISHED;
    } else if (unwrap && r.getStatus() == SSLEngineResult.Status.OK && hs != SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING
        && hs != SSLEngineResult.HandshakeStatus.FINISHED && !"TLSv1.3".equals(delegate.getSession().getProtocol())) {
      refused = true;
      delegate.closeOutbound();
      notRefused();
    }
    return r;
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
    notRefused();
    return seen(delegate.wrap(srcs, offset, length, dst), false);
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer src, ByteBuffer dst) throws SSLException {
    notRefused();
    return seen(delegate.wrap(src, dst), false);
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, ByteBuffer dst) throws SSLException {
    notRefused();
    return seen(delegate.wrap(srcs, dst), false);
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
    notRefused();
    return seen(delegate.unwrap(src, dsts, offset, length), true);
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer dst) throws SSLException {
    notRefused();
    return seen(delegate.unwrap(src, dst), true);
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts) throws SSLException {
    notRefused();
    return seen(delegate.unwrap(src, dsts), true);
  }
}
