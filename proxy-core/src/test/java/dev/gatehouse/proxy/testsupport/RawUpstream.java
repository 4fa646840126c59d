package dev.gatehouse.proxy.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scriptable upstream on a raw socket, for what WireMock cannot do: malformed responses, 1xx
 * interim responses, resets, hanging, counting connections. Each accepted connection runs the handler
 * on its own daemon thread; {@link #close()} closes everything.
 */
public final class RawUpstream implements AutoCloseable {

  /** Handles one accepted connection. */
  @FunctionalInterface
  public interface Handler {
    void handle(Conn conn) throws Exception;
  }

  private final ServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "raw-upstream");
    t.setDaemon(true);
    return t;
  });
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger maxOpen = new AtomicInteger();
  /** Every request head received, in order. */
  public final BlockingQueue<Request> requests = new LinkedBlockingQueue<>();

  private RawUpstream(Handler handler) throws IOException {
    server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
    threads.execute(() -> {
      while (!server.isClosed()) {
        Socket s;
        try {
          s = server.accept();
        } catch (IOException e) {
          return;
        }
        connections.incrementAndGet();
        maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
        sockets.add(s);
        threads.execute(() -> {
          try (Socket socket = s) {
            socket.setSoTimeout(30_000);
            handler.handle(new Conn(socket, this));
          } catch (Exception ignored) {
            // the test decides what a failure means
          } finally {
            open.decrementAndGet();
          }
        });
      }
    });
  }

  public static RawUpstream start(Handler handler) throws IOException {
    return new RawUpstream(handler);
  }

  /** An upstream that answers every request on a keep-alive connection with 200 and {@code body}. */
  public static RawUpstream keepAlive(String body) throws IOException {
    return start(c -> {
      Request r;
      while ((r = c.readRequest()) != null) {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\nContent-Type: text/plain\r\n\r\n" + body);
      }
    });
  }

  /**
   * An upstream that answers every request on a keep-alive connection with 200 and the request's path as
   * the body; a request for {@code heldPath} (if not null) waits for {@code release} (at most 10 s) first.
   */
  public static RawUpstream echoPath(String heldPath, java.util.concurrent.CountDownLatch release) throws IOException {
    return start(c -> {
      Request r;
      while ((r = c.readRequest()) != null) {
        String path = r.requestLine.split(" ")[1];
        if (path.equals(heldPath)) {
          release.await(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        c.write("HTTP/1.1 200 OK\r\nContent-Length: " + path.length() + "\r\n\r\n" + path);
      }
    });
  }

  public int port() {
    return server.getLocalPort();
  }

  public String url() {
    return "http://127.0.0.1:" + port();
  }

  /** Connections accepted so far. */
  public int connections() {
    return connections.get();
  }

  /** The most connections that were open at the same time. */
  public int maxConcurrentConnections() {
    return maxOpen.get();
  }

  public Request nextRequest() throws InterruptedException {
    Request r = requests.poll(10, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("upstream received no request within 10 s");
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

  /** One accepted connection. */
  public static final class Conn {
    public final Socket socket;
    public final InputStream in;
    public final OutputStream out;
    private final RawUpstream owner;

    Conn(Socket socket, RawUpstream owner) throws IOException {
      this.socket = socket;
      this.in = socket.getInputStream();
      this.out = socket.getOutputStream();
      this.owner = owner;
    }

    /** Reads a request head (and its body if it has a Content-Length or is chunked); null at EOF. */
    public Request readRequest() throws IOException {
      return readRequest(true);
    }

    public Request readRequest(boolean withBody) throws IOException {
      String line = readLine();
      while (line != null && line.isEmpty()) {
        line = readLine();
      }
      if (line == null) {
        return null;
      }
      Request r = new Request();
      r.requestLine = line;
      String h;
      while ((h = readLine()) != null && !h.isEmpty()) {
        r.headerLines.add(h);
        int colon = h.indexOf(':');
        r.headers.computeIfAbsent(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
            .add(h.substring(colon + 1).trim());
      }
      if (withBody) {
        readBody(r);
      }
      owner.requests.add(r);
      return r;
    }

    public void readBody(Request r) throws IOException {
      String cl = r.header("content-length");
      String te = r.header("transfer-encoding");
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      if (te != null && te.equalsIgnoreCase("chunked")) {
        for (;;) {
          String size = readLine();
          if (size == null) {
            r.complete = false;
            break;
          }
          int n = Integer.parseInt(size.split(";")[0].trim(), 16);
          if (n == 0) {
            String t = readLine();
            r.complete = t != null;
            break;
          }
          byte[] chunk = in.readNBytes(n);
          body.write(chunk);
          if (chunk.length < n || readLine() == null) {
            r.complete = false;
            break;
          }
        }
      } else if (cl != null) {
        int n = Integer.parseInt(cl);
        byte[] b = in.readNBytes(n);
        body.write(b);
        r.complete = b.length == n;
      }
      r.body = body.toByteArray();
    }

    public void write(String text) throws IOException {
      write(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    public void write(byte[] bytes) throws IOException {
      out.write(bytes);
      out.flush();
    }

    /** Closes with a TCP reset instead of a FIN. */
    public void reset() throws IOException {
      socket.setSoLinger(true, 0);
      socket.close();
    }

    private String readLine() throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      int b;
      while ((b = in.read()) >= 0) {
        if (b == '\n') {
          byte[] a = line.toByteArray();
          int len = a.length > 0 && a[a.length - 1] == '\r' ? a.length - 1 : a.length;
          return new String(a, 0, len, StandardCharsets.ISO_8859_1);
        }
        line.write(b);
      }
      return null;
    }
  }

  /** A request as the upstream received it. */
  public static final class Request {
    public String requestLine;
    public final List<String> headerLines = new ArrayList<>();
    public final Map<String, List<String>> headers = new LinkedHashMap<>();
    public byte[] body = new byte[0];
    public boolean complete = true;

    public String header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null ? null : v.get(0);
    }

    public List<String> headers(String name) {
      return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
    }

    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return requestLine + " " + headers;
    }
  }
}
