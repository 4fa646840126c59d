package dev.gatehouse.proxy.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A raw-socket HTTP/1.1 client for tests where framing matters. */
public final class RawHttp implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  private RawHttp(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  /** Connects to {@code 127.0.0.1:port} with a 10 s read timeout. */
  public static RawHttp connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout(10_000);
    s.setTcpNoDelay(true);
    return new RawHttp(s);
  }

  /** Speaks over a socket already connected (a TLS socket, say); sets a 10 s read timeout. */
  public static RawHttp over(Socket socket) throws IOException {
    socket.setSoTimeout(10_000);
    return new RawHttp(socket);
  }

  /** Connects to {@code 127.0.0.1:port} from the local address {@code from} (e.g. 127.0.0.2). */
  public static RawHttp connect(int port, java.net.InetAddress from) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(from, 0));
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout(10_000);
    s.setTcpNoDelay(true);
    return new RawHttp(s);
  }

  /** Sends {@code text} (CRLF line ends must be written explicitly) and reads one response. */
  public static Response exchange(int port, String text) throws IOException {
    try (RawHttp c = connect(port)) {
      c.send(text);
      return c.readResponse();
    }
  }

  public RawHttp send(String text) throws IOException {
    return send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  public RawHttp send(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
    return this;
  }

  public Socket socket() {
    return socket;
  }

  public OutputStream output() {
    return out;
  }

  public InputStream input() {
    return in;
  }

  /** Reads a response head and its body (by Content-Length, chunked, or until close). */
  public Response readResponse() throws IOException {
    return readResponse(false);
  }

  /** As {@link #readResponse()}; {@code headRequest} means no body follows. */
  public Response readResponse(boolean headRequest) throws IOException {
    String statusLine = readLine();
    if (statusLine == null) {
      throw new IOException("connection closed before a response");
    }
    Response r = new Response();
    r.statusLine = statusLine;
    r.status = Integer.parseInt(statusLine.substring(9, 12));
    String line;
    while ((line = readLine()) != null && !line.isEmpty()) {
      int colon = line.indexOf(':');
      r.headerLines.add(line);
      r.headers.computeIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(line.substring(colon + 1).trim());
    }
    if (r.status < 200 || headRequest || r.status == 204 || r.status == 304) {
      return r;
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    String te = r.header("transfer-encoding");
    String cl = r.header("content-length");
    try {
      if (te != null && te.equalsIgnoreCase("chunked")) {
        for (;;) {
          String size = readLine();
          if (size == null) {
            r.truncated = true;
            break;
          }
          int n = Integer.parseInt(size.split(";")[0].trim(), 16);
          if (n == 0) {
            String t;
            while ((t = readLine()) != null && !t.isEmpty()) {
              // trailers ignored
            }
            if (t == null) {
              r.truncated = true;
            }
            break;
          }
          byte[] chunk = in.readNBytes(n);
          body.write(chunk);
          if (chunk.length < n) {
            r.truncated = true;
            break;
          }
          readLine();
        }
      } else if (cl != null) {
        long n = Long.parseLong(cl);
        byte[] b = in.readNBytes((int) n);
        body.write(b);
        r.truncated = b.length < n;
      } else {
        body.write(in.readAllBytes());
      }
    } catch (SocketTimeoutException e) {
      r.truncated = true;
    } catch (IOException e) {
      r.truncated = true; // reset
    }
    r.body = body.toByteArray();
    return r;
  }

  /** Whether the server closed the connection (reads EOF within the socket timeout). */
  public boolean isClosedByPeer() throws IOException {
    try {
      return in.read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
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
    return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }

  /** A parsed response. */
  public static final class Response {
    public String statusLine;
    public int status;
    public final List<String> headerLines = new ArrayList<>();
    public final Map<String, List<String>> headers = new LinkedHashMap<>();
    public byte[] body = new byte[0];
    public boolean truncated;

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
      return statusLine + " " + headers + " (" + body.length + " bytes" + (truncated ? ", truncated" : "") + ")";
    }
  }
}
