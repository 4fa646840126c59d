package dev.gatehouse.proxy.internal.tls.handover;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * Reads the first bytes a client sends into a tunnel until they tell whether it speaks TLS and, if it
 * does, up to the end of its ClientHello ({@link ClientHello}). Runs on the connection's I/O thread,
 * without blocking; bounded in time and size. What was read is handed on, to be replayed to whoever
 * serves the connection next (TLS handshake or raw tunnel).
 */
public final class ClientHelloReader {
  private static final Logger log = LoggerFactory.getLogger(ClientHelloReader.class);

  /** The outcome, told once on the I/O thread. */
  public interface Callback {
    /**
     * The first bytes were read: {@code hello} is {@link ClientHello.Kind#TLS}, {@link
     * ClientHello.Kind#NOT_TLS} or {@link ClientHello.Kind#MALFORMED}; {@code bytes} holds everything read
     * (flipped, ready to be read again).
     */
    void onHello(ClientHello hello, ByteBuffer bytes);

    /** The client sent nothing at all within the time allowed (a protocol where the server speaks first?). */
    void onSilence();

    /** The client closed, failed or stopped half-way; the connection is closed. */
    void onGone(String reason);
  }

  private final StreamConnection client;
  private final Callback callback;
  private ByteBuffer buffer = ByteBuffer.allocate(2048);
  private XnioExecutor.Key timer;
  private boolean done;

  private ClientHelloReader(StreamConnection client, Callback callback) {
    this.client = client;
    this.callback = callback;
  }

  /** Starts reading; must be called on the connection's I/O thread. */
  public static void read(StreamConnection client, long timeoutMillis, Callback callback) {
    ClientHelloReader r = new ClientHelloReader(client, callback);
    try {
      // the listener's timeouts are for HTTP; this read has its own
      client.setOption(Options.READ_TIMEOUT, 0);
      client.setOption(Options.WRITE_TIMEOUT, 0);
    } catch (IOException | IllegalArgumentException e) {
      log.debug("cannot clear timeouts on {}: {}", client, e.toString());
    }
    r.timer = client.getIoThread().executeAfter(r::timedOut, Math.max(1, timeoutMillis), TimeUnit.MILLISECONDS);
    ConduitStreamSourceChannel source = client.getSourceChannel();
    source.getReadSetter().set(ch -> r.readable());
    r.readable();
  }

  private void readable() {
    if (done) {
      return;
    }
    ConduitStreamSourceChannel source = client.getSourceChannel();
    try {
      for (;;) {
        if (!buffer.hasRemaining()) {
          if (buffer.capacity() >= ClientHello.MAX_BYTES + 5 * 8) {
            ClientHello hello = ClientHello.parse(buffer.duplicate().flip());
            if (hello.kind() == ClientHello.Kind.NEED_MORE) {
              gone("the client's first message is over " + buffer.capacity() + " bytes");
            } else {
              finish(hello);
            }
            return;
          }
          ByteBuffer bigger = ByteBuffer.allocate(Math.min(buffer.capacity() * 4, ClientHello.MAX_BYTES + 5 * 8));
          buffer.flip();
          bigger.put(buffer);
          buffer = bigger;
        }
        int n = source.read(buffer);
        if (n == 0) {
          source.resumeReads();
          return;
        }
        if (n < 0) {
          gone(buffer.position() == 0 ? "the client closed the tunnel without sending anything"
              : "the client closed the tunnel in the middle of its first message");
          return;
        }
        ClientHello hello = ClientHello.parse(buffer.duplicate().flip());
        if (hello.kind() != ClientHello.Kind.NEED_MORE) {
          finish(hello);
          return;
        }
      }
    } catch (IOException e) {
      gone("reading the client failed: " + e.getMessage());
    }
  }

  private void finish(ClientHello hello) {
    stop();
    buffer.flip();
    callback.onHello(hello, buffer);
  }

  private void timedOut() {
    timer = null;
    if (done) {
      return;
    }
    if (buffer.position() == 0) {
      stop();
      callback.onSilence();
    } else {
      gone("the client sent an incomplete first message within the time allowed");
    }
  }

  private void gone(String reason) {
    stop();
    org.xnio.IoUtils.safeClose(client);
    callback.onGone(reason);
  }

  private void stop() {
    done = true;
    if (timer != null) {
      timer.remove();
      timer = null;
    }
    client.getSourceChannel().suspendReads();
    client.getSourceChannel().getReadSetter().set(null);
  }
}
