package dev.gatehouse.proxy.cache;

import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A scriptable origin on keep-alive connections: each request is answered by the current script,
 * which gets the request and returns a whole response (head and body). Every request is recorded.
 */
final class Origin implements AutoCloseable {

  /** Answers one request. */
  @FunctionalInterface
  interface Script {
    Reply answer(RawUpstream.Request request) throws Exception;
  }

  /** A response to write, or an action on the connection. */
  static final class Reply {
    final byte[] bytes;
    final boolean resetAfter;

    private Reply(byte[] bytes, boolean resetAfter) {
      this.bytes = bytes;
      this.resetAfter = resetAfter;
    }

    /** {@code status} with the given fields and body (Content-Length added). */
    static Reply of(int status, String body, String... fields) {
      StringBuilder sb = new StringBuilder("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n");
      for (int i = 0; i < fields.length; i += 2) {
        sb.append(fields[i]).append(": ").append(fields[i + 1]).append("\r\n");
      }
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      if (status != 304 && status != 204) {
        sb.append("Content-Length: ").append(b.length).append("\r\n");
      }
      sb.append("\r\n");
      byte[] head = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
      byte[] all = new byte[head.length + (status == 304 || status == 204 ? 0 : b.length)];
      System.arraycopy(head, 0, all, 0, head.length);
      if (status != 304 && status != 204) {
        System.arraycopy(b, 0, all, head.length, b.length);
      }
      return new Reply(all, false);
    }

    /** A head (ISO-8859-1, ending with the empty line) and body bytes, as they are. */
    static Reply raw(String head, byte[] body) {
      byte[] h = head.getBytes(StandardCharsets.ISO_8859_1);
      byte[] all = java.util.Arrays.copyOf(h, h.length + body.length);
      System.arraycopy(body, 0, all, h.length, body.length);
      return new Reply(all, false);
    }

    /** Raw bytes (ISO-8859-1), as they are. */
    static Reply raw(String raw) {
      return new Reply(raw.getBytes(StandardCharsets.ISO_8859_1), false);
    }

    /** Raw bytes, then a TCP reset. */
    static Reply rawThenReset(String raw) {
      return new Reply(raw.getBytes(StandardCharsets.ISO_8859_1), true);
    }

    private static String reason(int status) {
      switch (status) {
        case 200: return "OK";
        case 206: return "Partial Content";
        case 304: return "Not Modified";
        case 404: return "Not Found";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        default: return "Status";
      }
    }
  }

  private final RawUpstream upstream;
  private final AtomicReference<Script> script = new AtomicReference<>();
  final List<RawUpstream.Request> received = new CopyOnWriteArrayList<>();

  Origin(Script initial) throws IOException {
    script.set(initial);
    upstream = RawUpstream.start(c -> {
      RawUpstream.Request r;
      while ((r = c.readRequest()) != null) {
        received.add(r);
        Reply reply = script.get().answer(r);
        c.write(reply.bytes);
        if (reply.resetAfter) {
          c.reset();
          return;
        }
      }
    });
  }

  void script(Script s) {
    script.set(s);
  }

  String url() {
    return upstream.url();
  }

  int requests() {
    return received.size();
  }

  RawUpstream.Request last() {
    return received.get(received.size() - 1);
  }

  @Override
  public void close() throws IOException {
    upstream.close();
  }
}
