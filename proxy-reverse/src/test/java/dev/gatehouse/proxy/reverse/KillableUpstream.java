package dev.gatehouse.proxy.reverse;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A keep-alive HTTP/1.1 upstream on a loopback port that a test can kill as a crash would (the listener
 * closed, every open connection reset) and start again on the same port. Answers {@code GET /health}
 * with 200 and every other request with 200 and its name, each response in one write. Counts what it
 * served, and what it served since it was last started.
 */
final class KillableUpstream implements AutoCloseable {
  private final String name;
  private final int port;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "killable-upstream");
    t.setDaemon(true);
    return t;
  });
  private volatile ServerSocket listener;
  /** Requests answered (health checks not counted). */
  final AtomicInteger served = new AtomicInteger();
  /** Requests answered since the last {@link #restart()}. */
  final AtomicInteger servedSinceStart = new AtomicInteger();
  final AtomicInteger healthChecks = new AtomicInteger();
  /**
   * When a connection gets its n-th request (0 for never), the upstream goes down once it has read it
   * (head and body): the listener closes, then that connection closes without an answer.
   */
  volatile int goDownOnRequest;

  KillableUpstream(String name) throws IOException {
    this.name = name;
    ServerSocket s = bind(0);
    this.port = s.getLocalPort();
    listen(s);
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  int port() {
    return port;
  }

  private static ServerSocket bind(int port) throws IOException {
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
    return s;
  }

  private void listen(ServerSocket s) {
    listener = s;
    threads.execute(() -> {
      while (!s.isClosed()) {
        Socket c;
        try {
          c = s.accept();
        } catch (IOException e) {
          return;
        }
        open.add(c);
        if (s.isClosed()) {
          reset(c); // accepted while being killed
          return;
        }
        threads.execute(() -> serve(c));
      }
    });
  }

  /** Closes the listener and resets every open connection, as a crash (SIGKILL) would. */
  void kill() throws IOException {
    listener.close();
    for (Socket c : open) {
      reset(c);
    }
  }

  /** Listens again on the same port. */
  void restart() throws IOException {
    servedSinceStart.set(0);
    listen(bind(port));
  }

  /**
   * Resets {@code c}. A thread may be reading it, and {@link Socket#close()} then defers the real close
   * until that read returns; shutting both directions down acts at once, and the close that follows
   * (linger 0) sends the reset.
   */
  private void reset(Socket c) {
    open.remove(c);
    try {
      c.setSoLinger(true, 0);
      c.shutdownInput();
      c.shutdownOutput();
    } catch (IOException ignored) {
      // already gone
    }
    try {
      c.close();
    } catch (IOException ignored) {
      // already gone
    }
  }

  private void serve(Socket c) {
    try (Socket socket = c) {
      InputStream in = new BufferedInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      for (int n = 1; ; n++) {
        String requestLine = readLine(in);
        if (requestLine == null) {
          return;
        }
        boolean close = false;
        int length = 0;
        String h;
        while ((h = readLine(in)) != null && !h.isEmpty()) {
          close |= h.regionMatches(true, 0, "connection: close", 0, 17);
          if (h.regionMatches(true, 0, "content-length:", 0, 15)) {
            length = Integer.parseInt(h.substring(15).trim());
          }
        }
        if (h == null) {
          return;
        }
        if (n == goDownOnRequest) {
          // the whole request is read first: the server may have acted on it, and no unread byte turns
          // the close below into a reset (a reset as the body arrived let the proxy resend it elsewhere)
          in.readNBytes(length);
          listener.close();
          return; // closes this connection (a FIN, not a reset)
        }
        boolean health = requestLine.startsWith("GET /health ");
        String body = health ? "ok" : name;
        byte[] response = ("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\nContent-Type: text/plain\r\n"
            + (close ? "Connection: close\r\n" : "") + "\r\n" + body).getBytes(StandardCharsets.ISO_8859_1);
        if (health) {
          healthChecks.incrementAndGet();
        } else {
          served.incrementAndGet();
          servedSinceStart.incrementAndGet();
        }
        out.write(response);
        out.flush();
        if (close) {
          return;
        }
      }
    } catch (IOException ignored) {
      // reset by kill() or by the proxy
    } finally {
      open.remove(c);
    }
  }

  private static String readLine(InputStream in) throws IOException {
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

  @Override
  public void close() throws IOException {
    kill();
    threads.shutdownNow();
  }
}
