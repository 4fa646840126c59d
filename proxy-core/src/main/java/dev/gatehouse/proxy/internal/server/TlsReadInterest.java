package dev.gatehouse.proxy.internal.server;

import io.undertow.protocols.ssl.SslConduit;
import io.undertow.server.protocol.http.HttpServerConnection;
import io.undertow.util.AttachmentKey;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.StreamConnection;
import org.xnio.conduits.ReadReadyHandler;
import org.xnio.conduits.StreamSourceConduit;

/**
 * {@link Intake#keepReadInterest} over TLS: keeps the socket of a keep-alive HTTPS connection in the
 * epoll set while a bodiless request is served, saving the {@code EPOLL_CTL_DEL} and {@code
 * EPOLL_CTL_ADD} that Undertow's suspension and resumption of reads cost per request.
 *
 * <p>Undertow's {@link SslConduit} keeps one rule for the socket under it: its reads are on when the
 * conduit's reads are resumed, or while a handshake needs to read before it can write. This class
 * breaks the rule on purpose, for the time of an exchange (the conduit's reads are suspended, the
 * socket's stay on), and enforces it again lazily: the socket's read-ready handler is wrapped, and when
 * the socket becomes readable while the rule says "off" (a pipelined request, a close, a TLS alert), the
 * wrapper turns the socket's reads off and returns, which is what the suspension would have done at
 * once; Undertow reads that data when it resumes reads after the exchange, as before. In every other
 * state the wrapper hands the event to the conduit's own handler unchanged.
 *
 * <p>The conduit's fields are private: they are reached once, reflectively, for Undertow 2.4's layout;
 * if that fails (another Undertow), TLS connections simply keep Undertow's behaviour.
 */
public final class TlsReadInterest {
  private static final Logger log = LoggerFactory.getLogger(TlsReadInterest.class);

  // SslConduit's state bits (Undertow 2.4)
  private static final int WRITE_REQUIRES_READ = 1 << 1;
  private static final int READS_RESUMED = 1 << 2;
  private static final int WRITES_RESUMED = 1 << 3;

  private static final AttachmentKey<Parking> PARKING = AttachmentKey.create(Parking.class);

  private static final Class<?> SSL_CONNECTION;
  private static final VarHandle CONNECTION_CONDUIT;
  private static final VarHandle DELEGATE;
  private static final VarHandle HANDLER;
  private static final VarHandle STATE;

  static {
    Class<?> connection = null;
    VarHandle conduit = null;
    VarHandle delegate = null;
    VarHandle handler = null;
    VarHandle state = null;
    try {
      connection = Class.forName("io.undertow.protocols.ssl.UndertowSslConnection", false, SslConduit.class.getClassLoader());
      MethodHandles.Lookup c = MethodHandles.privateLookupIn(connection, MethodHandles.lookup());
      conduit = c.findVarHandle(connection, "sslConduit", SslConduit.class);
      MethodHandles.Lookup s = MethodHandles.privateLookupIn(SslConduit.class, MethodHandles.lookup());
      delegate = s.findVarHandle(SslConduit.class, "delegate", StreamConnection.class);
      Class<?> handlerType = Class.forName("io.undertow.protocols.ssl.SslConduit$SslReadReadyHandler", false,
          SslConduit.class.getClassLoader());
      handler = s.findVarHandle(SslConduit.class, "readReadyHandler", handlerType);
      state = s.findVarHandle(SslConduit.class, "state", int.class);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      log.debug("TLS connections keep Undertow's read suspension per request: {}", e.toString());
      connection = null;
    }
    SSL_CONNECTION = connection;
    CONNECTION_CONDUIT = conduit;
    DELEGATE = delegate;
    HANDLER = handler;
    STATE = state;
  }

  private TlsReadInterest() {}

  /** True when this Undertow's TLS conduit can be handled (tests check it, so an upgrade cannot lose it silently). */
  static boolean available() {
    return SSL_CONNECTION != null;
  }

  /**
   * Turns the socket's reads back on right after Undertow suspended them for the exchange (same I/O
   * round: the selector sees no change); nothing when {@code c} is not a TLS connection it can handle.
   */
  static void keep(HttpServerConnection c) {
    SslConduit ssl = sslConduit(c);
    if (ssl == null) {
      return;
    }
    Parking p = c.getAttachment(PARKING);
    if (p == null) {
      p = new Parking(ssl, socketUnder(ssl).getSourceChannel().getConduit());
      c.putAttachment(PARKING, p);
    }
    // the conduit installs a new handler on the socket whenever its own is set: wrap the current one
    ReadReadyHandler current = (ReadReadyHandler) HANDLER.get(p.ssl);
    if (p.inner != current) {
      p.inner = current;
      p.socket.setReadReadyHandler(p);
    }
    p.socket.resumeReads();
  }

  /**
   * Whether the socket under {@code c}'s TLS conduit has its reads on now. During a bodiless exchange
   * they stay on (the saving this class exists for): tests check it from a filter, so that neither a
   * change here nor an Undertow upgrade can lose it without a failure. False when {@code c} is not a TLS
   * connection this Undertow lets us look into.
   */
  public static boolean socketReadsResumed(HttpServerConnection c) {
    SslConduit ssl = sslConduit(c);
    return ssl != null && socketUnder(ssl).getSourceChannel().isReadResumed();
  }

  /** {@code c}'s TLS conduit, or null when it is not a TLS connection this Undertow lets us look into. */
  private static SslConduit sslConduit(HttpServerConnection c) {
    StreamConnection channel = c.getChannel();
    return SSL_CONNECTION != null && SSL_CONNECTION.isInstance(channel) ? (SslConduit) CONNECTION_CONDUIT.get(channel) : null;
  }

  private static StreamConnection socketUnder(SslConduit ssl) {
    return (StreamConnection) DELEGATE.get(ssl);
  }

  /** The socket's read-ready handler: the conduit's own, behind the conduit's rule for the socket's reads. */
  private static final class Parking implements ReadReadyHandler {
    final SslConduit ssl;
    final StreamSourceConduit socket;
    ReadReadyHandler inner;

    Parking(SslConduit ssl, StreamSourceConduit socket) {
      this.ssl = ssl;
      this.socket = socket;
    }

    @Override
    public void readReady() {
      int state = (int) STATE.getVolatile(ssl);
      boolean readsWanted = (state & READS_RESUMED) != 0
          || (state & (WRITES_RESUMED | WRITE_REQUIRES_READ)) == (WRITES_RESUMED | WRITE_REQUIRES_READ);
      if (!readsWanted) {
        // parked: in this state the conduit's handler would do nothing, and the socket would be off
        socket.suspendReads();
        return;
      }
      inner.readReady();
    }

    @Override
    public void forceTermination() {
      inner.forceTermination();
    }

    @Override
    public void terminated() {
      inner.terminated();
    }
  }
}
