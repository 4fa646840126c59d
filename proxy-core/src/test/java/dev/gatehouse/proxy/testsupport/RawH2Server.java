package dev.gatehouse.proxy.testsupport;

import io.undertow.protocols.http2.HpackDecoder;
import io.undertow.protocols.http2.HpackException;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/2 upstream (h2c, prior knowledge) on raw frames whose behaviour each test scripts: it reports
 * every request (connection number, stream id, path) and answers only when told, so a test can send
 * GOAWAY with a chosen last stream id while streams are open, then answer some and not others.
 */
public final class RawH2Server implements AutoCloseable {

  /** A request as the server read it. */
  public record Request(Conn conn, int stream, String method, String path) {}

  private final ServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "raw-h2-upstream");
    t.setDaemon(true);
    return t;
  });
  private final AtomicInteger connections = new AtomicInteger();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  /** Every request read, on any connection, in order. */
  public final BlockingQueue<Request> requests = new LinkedBlockingQueue<>();

  public RawH2Server() throws IOException {
    server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    threads.execute(() -> {
      while (!server.isClosed()) {
        Socket s;
        try {
          s = server.accept();
        } catch (IOException e) {
          return;
        }
        sockets.add(s);
        Conn c = new Conn(s, connections.incrementAndGet());
        threads.execute(c::serve);
      }
    });
  }

  public int port() {
    return server.getLocalPort();
  }

  public int connections() {
    return connections.get();
  }

  /** The next request, within 10 s. */
  public Request next() throws InterruptedException {
    Request r = requests.poll(10, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("the upstream received no request within 10 s");
    }
    return r;
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
    threads.shutdownNow();
  }

  /** One accepted connection; its write methods may be called from the test thread. */
  public final class Conn {
    public final int number;
    private final Socket socket;
    private OutputStream out;

    Conn(Socket socket, int number) {
      this.socket = socket;
      this.number = number;
    }

    void serve() {
      HpackDecoder decoder = new HpackDecoder();
      try (Socket s = socket) {
        DataInputStream in = new DataInputStream(s.getInputStream());
        out = s.getOutputStream();
        in.readNBytes(24); // the client preface
        frame(4, 0, 0, new byte[0]);
        ByteArrayOutputStream block = null;
        int blockStream = 0;
        for (;;) {
          int length = in.readUnsignedByte() << 16 | in.readUnsignedByte() << 8 | in.readUnsignedByte();
          int type = in.readUnsignedByte();
          int flags = in.readUnsignedByte();
          int id = in.readInt() & 0x7FFFFFFF;
          byte[] payload = in.readNBytes(length);
          if (type == 4 && (flags & 1) == 0) {
            frame(4, 1, 0, new byte[0]);
          } else if (type == 6 && (flags & 1) == 0) {
            frame(6, 1, 0, payload);
          } else if (type == 1 || type == 9) {
            if (type == 1) {
              block = new ByteArrayOutputStream();
              blockStream = id;
              int offset = (flags & 0x20) != 0 ? 5 : 0;
              int pad = 0;
              if ((flags & 0x8) != 0) {
                pad = payload[0] & 0xFF;
                offset += 1;
              }
              block.write(payload, offset, payload.length - offset - pad);
            } else if (block != null) {
              block.write(payload, 0, payload.length);
            }
            if ((flags & 0x4) != 0 && block != null) {
              Map<String, String> fields = new LinkedHashMap<>();
              decoder.setHeaderEmitter((name, value, neverIndex) -> fields.putIfAbsent(name.toString(), value));
              try {
                decoder.decode(ByteBuffer.wrap(block.toByteArray()), false);
              } catch (HpackException e) {
                throw new IOException(e);
              }
              block = null;
              requests.add(new Request(this, blockStream, fields.get(":method"), fields.get(":path")));
            }
          } else if (type == 0 && length > 0) {
            byte[] credit = ByteBuffer.allocate(4).putInt(length).array();
            frame(8, 0, 0, credit);
          }
        }
      } catch (IOException e) {
        // the connection ended
      }
    }

    private synchronized void frame(int type, int flags, int stream, byte[] payload) throws IOException {
      byte[] head = {
          (byte) (payload.length >>> 16), (byte) (payload.length >>> 8), (byte) payload.length,
          (byte) type, (byte) flags,
          (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8), (byte) stream};
      out.write(head);
      out.write(payload);
      out.flush();
    }

    /** Answers a stream with 200 and a text body. */
    public void respond(int stream, String body) throws IOException {
      frame(1, 0x4, stream, new byte[] {(byte) 0x88}); // :status 200, from the static table
      frame(0, 0x1, stream, body.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Answers a stream with 200 whose header block ends in a CONTINUATION frame (with {@code x-a: 1}),
     * written only after {@code between} returns; {@code body} in a DATA frame after it, or none (then
     * the HEADERS frame ends the stream).
     */
    public void respondWithSplitHead(int stream, String body, java.util.concurrent.Callable<?> between) throws Exception {
      frame(1, body == null ? 0x1 : 0, stream, new byte[] {(byte) 0x88}); // :status 200, no END_HEADERS
      between.call();
      frame(9, 0x4, stream, new byte[] {0x10, 3, 'x', '-', 'a', 1, '1'}); // x-a: 1, END_HEADERS
      if (body != null) {
        frame(0, 0x1, stream, body.getBytes(StandardCharsets.UTF_8));
      }
    }

    /** Sends GOAWAY: streams up to {@code lastStreamId} will be answered, none above it. */
    public void goAway(int lastStreamId, int errorCode) throws IOException {
      frame(7, 0, 0, ByteBuffer.allocate(8).putInt(lastStreamId).putInt(errorCode).array());
    }

    /** Closes the connection. */
    public void close() throws IOException {
      socket.close();
    }
  }
}
