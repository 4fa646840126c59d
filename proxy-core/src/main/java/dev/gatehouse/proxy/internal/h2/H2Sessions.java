package dev.gatehouse.proxy.internal.h2;

import dev.gatehouse.proxy.UpstreamUnavailableException;
import dev.gatehouse.proxy.internal.http1.ResponseHeadParser;
import dev.gatehouse.proxy.internal.pool.Connector;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.PoolSettings;
import dev.gatehouse.proxy.internal.server.Engine;
import io.undertow.client.ClientConnection;
import io.undertow.client.http2.Http2ClientConnection;
import io.undertow.connector.ByteBufferPool;
import io.undertow.protocols.http2.Http2Channel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.ChannelListener;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

/**
 * HTTP/2 connections to one upstream: one multiplexed connection per I/O thread, opened on first use
 * and shared by every request of that thread, closed after {@code keepAlive} without streams. Over TLS
 * HTTP/2 is offered by ALPN; an upstream that answers {@code http/1.1} is remembered, and its requests
 * go to the HTTP/1.1 pool from then on. Over cleartext, HTTP/2 is spoken with prior knowledge (h2c).
 * Each thread's state is touched only on that thread.
 */
public final class H2Sessions {
  private static final Logger log = LoggerFactory.getLogger(H2Sessions.class);
  private static final String[] ALPN = {"h2", "http/1.1"};
  /**
   * Each stream's receive window: what an upstream may send ahead of a slow client, on top of the
   * exchange's read-ahead. 256 KiB lets typical responses arrive without a WINDOW_UPDATE round trip
   * (with 64 KiB, a 64 KiB body cost three to four extra frames and system calls).
   */
  private static final int STREAM_WINDOW = 256 * 1024;
  /**
   * Added to the connection's receive window at the start. Undertow credits the connection window only
   * as streams are read, so with the default 64 KiB one response the client is slow to take would stall
   * every other stream on the connection; each stream stays limited by its own window, so this lets 32
   * stalled streams coexist without blocking the rest (and bounds what they buffer).
   */
  private static final int CONNECTION_WINDOW_BOOST = 32 * STREAM_WINDOW;
  /**
   * Streams one connection carries before it is retired (new requests go to a fresh connection, the old
   * one closes when its last stream ends). nginx sends GOAWAY after 1000 requests by default ({@code
   * keepalive_requests}); a GOAWAY is handled without losing streams (see {@link GoAwayConduit}), but
   * retiring first spares the streams above its last stream id a second trip.
   */
  static final int MAX_STREAMS_PER_CONNECTION = 900;
  /**
   * Read buffers one connection may have in use at once. Undertow parses DATA frames as views of the
   * buffer they were read into, so the bytes a stalled stream has not consumed yet keep their read
   * buffers in use; past this count Undertow stops reading the whole connection, and every other stream
   * on it stalls behind the slow one (head-of-line blocking across clients). Undertow's default of 16
   * buffers is less than one stream window of 256 KiB in 16 KiB buffers, so a single client that stopped
   * reading could stall the connection, depending on how the bytes happened to arrive. Flow control
   * already bounds the unconsumed bytes by the connection window; this allows that window twice over
   * (reads that fill half a buffer on average) and still bounds the memory of an upstream that dribbles.
   */
  static final int MAX_QUEUED_READ_BUFFERS = (int) (2 * (65_535L + CONNECTION_WINDOW_BOOST) / Engine.BUFFER_SIZE);
  /**
   * Our SETTINGS: no server push (nothing would take it), and the same response-head limits as for
   * HTTP/1.1 upstreams, announced (SETTINGS_MAX_HEADER_LIST_SIZE) and enforced by the HPACK decoder.
   */
  private static final OptionMap CHANNEL_OPTIONS = OptionMap.builder()
      .set(io.undertow.UndertowOptions.HTTP2_SETTINGS_ENABLE_PUSH, false)
      .set(io.undertow.UndertowOptions.HTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW)
      .set(io.undertow.UndertowOptions.MAX_HEADER_SIZE, ResponseHeadParser.MAX_HEAD_BYTES)
      .set(io.undertow.UndertowOptions.MAX_HEADERS, ResponseHeadParser.MAX_FIELDS)
      .set(io.undertow.UndertowOptions.MAX_QUEUED_READ_BUFFERS, MAX_QUEUED_READ_BUFFERS)
      .getMap();

  /** An open stream, told when the upstream's GOAWAY says it will not be processed. */
  public interface Stream {
    void refusedByGoAway();
  }

  /** Receives the session for one request, on the requesting I/O thread. */
  public interface Receiver {
    void onSession(Session session);

    /** The upstream declined HTTP/2: send the request over HTTP/1.1 instead. */
    void onHttp1Only();

    void onSessionFailure(RuntimeException failure);
  }

  private final Endpoint endpoint;
  private final PoolSettings settings;
  private final Executor resolver;
  private final PerThread[] threads;
  private final AtomicInteger open = new AtomicInteger();
  private volatile boolean http1Only;
  private volatile boolean closed;

  public H2Sessions(Endpoint endpoint, PoolSettings settings, Executor resolver, int ioThreads) {
    this.endpoint = endpoint;
    this.settings = settings;
    this.resolver = resolver;
    this.threads = new PerThread[ioThreads];
    for (int i = 0; i < ioThreads; i++) {
      threads[i] = new PerThread();
    }
  }

  /** Whether the upstream refused HTTP/2 in ALPN (its requests use HTTP/1.1). */
  public boolean http1Only() {
    return http1Only;
  }

  public int openConnections() {
    return open.get();
  }

  /**
   * Must run on {@code thread}: hands {@code receiver} a session of this thread with room for another
   * stream (the upstream's {@code SETTINGS_MAX_CONCURRENT_STREAMS}), connecting one more if none has.
   */
  public void acquire(XnioIoThread thread, ByteBufferPool buffers, long connectTimeoutMillis, Receiver receiver) {
    PerThread pt = threads[thread.getNumber()];
    pt.thread = thread;
    Session s = pick(pt);
    if (s != null) {
      s.begin();
      receiver.onSession(s);
      return;
    }
    if (closed) {
      receiver.onSessionFailure(new UpstreamUnavailableException("proxy is shutting down"));
      return;
    }
    pt.waiting.add(receiver);
    if (!pt.connecting) {
      connect(pt, thread, buffers, connectTimeoutMillis);
    }
  }

  private static Session pick(PerThread pt) {
    for (int i = 0; i < pt.sessions.size(); i++) {
      Session s = pt.sessions.get(i);
      if (!s.connection.isOpen()) {
        pt.sessions.remove(i--);
        continue;
      }
      if (s.hasRoom()) {
        return s;
      }
    }
    return null;
  }

  private void connect(PerThread pt, XnioIoThread thread, ByteBufferPool buffers, long connectTimeoutMillis) {
    pt.connecting = true;
    Connector.connect(thread, endpoint, settings.tls(), endpoint.isTls() ? ALPN : null, connectTimeoutMillis, resolver,
        new Connector.Callback() {
          @Override
          public void connected(StreamConnection sc) {
            pt.connecting = false;
            if (closed) {
              IoUtils.safeClose(sc);
              failWaiting(pt, new UpstreamUnavailableException("proxy is shutting down"));
              return;
            }
            if (endpoint.isTls() && !"h2".equals(Connector.applicationProtocol(sc))) {
              if (!http1Only) {
                log.info("upstream {} does not offer HTTP/2 (ALPN chose {}); using HTTP/1.1", endpoint,
                    Connector.applicationProtocol(sc));
              }
              http1Only = true;
              IoUtils.safeClose(sc);
              Receiver r;
              while ((r = pt.waiting.poll()) != null) {
                r.onHttp1Only();
              }
              return;
            }
            try {
              pt.sessions.add(new Session(sc, buffers, pt));
            } catch (RuntimeException e) {
              IoUtils.safeClose(sc);
              failWaiting(pt, new dev.gatehouse.proxy.UpstreamConnectException(
                  "cannot start HTTP/2 with upstream " + endpoint + ": " + e.getMessage(), e));
              return;
            }
            serve(pt);
            if (!pt.waiting.isEmpty() && !pt.connecting) {
              connect(pt, thread, buffers, connectTimeoutMillis); // more streams than the upstream allows
            }
          }

          @Override
          public void failed(RuntimeException failure) {
            pt.connecting = false;
            failWaiting(pt, failure);
          }
        });
  }

  /** Hands waiting requests to sessions with room. */
  private static void serve(PerThread pt) {
    Receiver r;
    Session s;
    while ((r = pt.waiting.peek()) != null && (s = pick(pt)) != null) {
      pt.waiting.poll();
      s.begin();
      r.onSession(s);
    }
  }

  private static void failWaiting(PerThread pt, RuntimeException failure) {
    Receiver r;
    while ((r = pt.waiting.poll()) != null) {
      r.onSessionFailure(failure);
    }
  }

  /** Closes sessions without streams now and the others when their last stream ends. */
  public void close() {
    closed = true;
    for (PerThread pt : threads) {
      XnioIoThread t = pt.thread;
      if (t != null) {
        t.execute(() -> {
          for (Session s : new ArrayList<>(pt.sessions)) {
            if (s.active == 0) {
              s.close();
            }
          }
        });
      }
    }
  }

  private static final class PerThread {
    volatile XnioIoThread thread;
    final List<Session> sessions = new ArrayList<>(1);
    final java.util.ArrayDeque<Receiver> waiting = new java.util.ArrayDeque<>();
    boolean connecting;
  }

  /** One multiplexed connection, owned by one I/O thread. */
  public final class Session {
    final Http2ClientConnection connection;
    private final Http2Channel channel;
    private final PerThread owner;
    private final XnioIoThread thread;
    int active;
    /** Streams started on this connection. */
    private int started;
    private XnioExecutor.Key idleTimer;
    private boolean closed;
    /** The upstream sent GOAWAY: no new streams; the ones it promised to answer finish. */
    private boolean goneAway;
    /** Open streams by id, for a GOAWAY to tell which ones the upstream will not answer. */
    private final java.util.Map<Integer, Stream> streams = new java.util.HashMap<>();

    /** The HTTP/2 channel under this connection. */
    Http2Channel channel() {
      return channel;
    }

    Session(StreamConnection sc, ByteBufferPool buffers, PerThread owner) {
      this.owner = owner;
      this.thread = sc.getIoThread();
      sc.getSourceChannel().setConduit(new GoAwayConduit(sc.getSourceChannel().getConduit(),
          (last, code) -> thread.execute(() -> onGoAway(last, code))));
      this.channel = new Http2Channel(sc, endpoint.isTls() ? "h2" : "h2c", buffers, null, true, false,
          CHANNEL_OPTIONS);
      this.connection = new Http2ClientConnection(channel, false, endpoint.authority(), null, endpoint.isTls());
      try {
        channel.sendUpdateWindowSize(0, CONNECTION_WINDOW_BOOST);
      } catch (java.io.IOException e) {
        IoUtils.safeClose(channel);
        throw new IllegalStateException(e.getMessage(), e);
      }
      open.incrementAndGet();
      connection.addCloseListener((ChannelListener<ClientConnection>) c -> onClosed());
    }

    /** Opens a stream for {@code request}; {@code callback} gets the exchange (or why not) on this I/O thread. */
    public void sendRequest(io.undertow.client.ClientRequest request,
        io.undertow.client.ClientCallback<io.undertow.client.ClientExchange> callback) {
      connection.sendRequest(request, callback);
    }

    /** Whether the upstream allows another stream on this connection, and it is not retired. */
    boolean hasRoom() {
      if (goneAway || started >= MAX_STREAMS_PER_CONNECTION) {
        return false;
      }
      int max = channel.getSendMaxConcurrentStreams();
      return max < 0 || active < max;
    }

    /** A stream starts. */
    void begin() {
      active++;
      started++;
      if (idleTimer != null) {
        idleTimer.remove();
        idleTimer = null;
      }
    }

    /** A stream ended; the last one arms the idle close. */
    public void end() {
      --active;
      if (!owner.waiting.isEmpty() && !closed) {
        serve(owner); // a stream came free for a request waiting on a connection in progress
      }
      if (active > 0 || closed) {
        return;
      }
      active = 0;
      if (H2Sessions.this.closed || goneAway || started >= MAX_STREAMS_PER_CONNECTION) {
        close();
        return;
      }
      long keepAlive = Math.max(1, settings.keepAlive().toMillis());
      idleTimer = thread.executeAfter(() -> {
        idleTimer = null;
        if (active == 0) {
          close();
        }
      }, keepAlive, TimeUnit.MILLISECONDS);
    }

    /** A stream is open on this connection with {@code id}. */
    public void register(int id, Stream stream) {
      streams.put(id, stream);
    }

    public void unregister(int id) {
      streams.remove(id);
    }

    /**
     * RFC 9113 §6.8: streams up to {@code lastStreamId} will still be answered; the others were not
     * processed and go elsewhere. The connection takes no new streams and closes after its last one.
     */
    private void onGoAway(int lastStreamId, int errorCode) {
      if (closed) {
        return;
      }
      boolean first = !goneAway;
      goneAway = true;
      java.util.List<Stream> refused = new ArrayList<>();
      for (java.util.Map.Entry<Integer, Stream> e : streams.entrySet()) {
        if (e.getKey() > lastStreamId) {
          refused.add(e.getValue());
        }
      }
      if (first) {
        log.info("upstream {} sent GOAWAY (last stream {}, error {}): {} stream(s) finish there, {} go to a new "
            + "connection", endpoint, lastStreamId, errorCode, streams.size() - refused.size(), refused.size());
      }
      for (Stream r : refused) {
        r.refusedByGoAway();
      }
      if (active == 0) {
        close();
      }
    }

    void close() {
      IoUtils.safeClose(connection); // GOAWAY
      IoUtils.safeClose(channel);
      onClosed();
    }

    private void onClosed() {
      if (closed) {
        return;
      }
      closed = true;
      open.decrementAndGet();
      owner.sessions.remove(this);
      if (idleTimer != null) {
        idleTimer.remove();
        idleTimer = null;
      }
    }
  }
}
