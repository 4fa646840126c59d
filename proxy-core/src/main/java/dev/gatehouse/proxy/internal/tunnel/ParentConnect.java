package dev.gatehouse.proxy.internal.tunnel;

import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.spi.Endpoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;

/**
 * {@code CONNECT} through a parent proxy: sends ours (with the proxy's own {@code Proxy-Authorization}
 * when it has one), reads the parent's answer within the {@code readTimeout}, then either goes on to
 * the tunnel (with what followed the parent's head, for the client) or relays the refusal: the
 * parent's 4xx or 5xx as its status, its 407 as 502 (the proxy's credentials were refused), anything
 * else as 502.
 */
final class ParentConnect {
  private static final Logger log = LoggerFactory.getLogger(ParentConnect.class);
  private static final int MAX_PARENT_HEAD = 16 * 1024;

  private final ExchangeImpl ex;
  private final StreamConnection dest;
  private final Endpoint parent;
  private final CompletableFuture<ProxyResponse> result;
  private final Consumer<ByteBuffer> established;
  private final ByteBuffer request;
  private ByteBuffer response = ByteBuffer.allocate(1024);
  private XnioExecutor.Key timer;

  /**
   * @param target the {@code CONNECT} target, {@code host:port}
   * @param authorization the proxy's credentials for the parent, or null
   * @param established told, on the parent's 2xx, what followed its head (or null)
   */
  ParentConnect(ExchangeImpl ex, StreamConnection dest, Endpoint parent, String target, String authorization,
      CompletableFuture<ProxyResponse> result, Consumer<ByteBuffer> established) {
    this.ex = ex;
    this.dest = dest;
    this.parent = parent;
    this.result = result;
    this.established = established;
    StringBuilder sb = new StringBuilder(128);
    sb.append("CONNECT ").append(target).append(" HTTP/1.1\r\nHost: ").append(target).append("\r\n");
    if (authorization != null) {
      sb.append("Proxy-Authorization: ").append(authorization).append("\r\n");
    }
    sb.append("\r\n");
    this.request = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
  }

  void start() {
    long readTimeout = ex.engine().config().readTimeout().toMillis();
    if (readTimeout > 0) {
      timer = dest.getIoThread().executeAfter(() -> fail(new UpstreamTimeoutException("parent proxy " + parent
          + " did not answer CONNECT within readTimeout " + ex.engine().config().readTimeout())),
          readTimeout, TimeUnit.MILLISECONDS);
    }
    dest.getSinkChannel().getWriteSetter().set(ch -> write());
    dest.getSourceChannel().getReadSetter().set(ch -> read());
    write();
  }

  private void write() {
    try {
      while (request.hasRemaining()) {
        if (dest.getSinkChannel().write(request) == 0) {
          dest.getSinkChannel().resumeWrites();
          return;
        }
      }
      if (!dest.getSinkChannel().flush()) {
        dest.getSinkChannel().resumeWrites();
        return;
      }
      dest.getSinkChannel().suspendWrites();
      dest.getSinkChannel().getWriteSetter().set(null);
      read();
    } catch (IOException e) {
      fail(new UpstreamConnectException("parent proxy " + parent + " failed during CONNECT", e));
    }
  }

  private void read() {
    if (result.isDone()) {
      return;
    }
    try {
      for (;;) {
        if (!response.hasRemaining()) {
          if (response.capacity() >= MAX_PARENT_HEAD) {
            fail(new UpstreamResponseException("parent proxy " + parent + " sent a response head over "
                + MAX_PARENT_HEAD + " bytes"));
            return;
          }
          ByteBuffer bigger = ByteBuffer.allocate(response.capacity() * 2);
          response.flip();
          bigger.put(response);
          response = bigger;
        }
        int n = dest.getSourceChannel().read(response);
        if (n == 0) {
          dest.getSourceChannel().resumeReads();
          return;
        }
        if (n < 0) {
          fail(new UpstreamResponseException("parent proxy " + parent + " closed the connection during CONNECT"));
          return;
        }
        int end = headEnd(response);
        if (end >= 0) {
          parsed(end);
          return;
        }
      }
    } catch (IOException e) {
      fail(new UpstreamResponseException("parent proxy " + parent + " failed during CONNECT", e));
    }
  }

  private void parsed(int end) {
    dest.getSourceChannel().suspendReads();
    dest.getSourceChannel().getReadSetter().set(null);
    cancelTimer();
    String head = new String(response.array(), 0, end, StandardCharsets.ISO_8859_1);
    int status = -1;
    if (head.startsWith("HTTP/1.") && head.length() >= 12 && head.charAt(8) == ' ') {
      try {
        status = Integer.parseInt(head.substring(9, 12));
      } catch (NumberFormatException e) {
        status = -1;
      }
    }
    if (status / 100 == 2) {
      ByteBuffer rest = ByteBuffer.wrap(response.array(), end, response.position() - end).slice();
      ByteBuffer copy = rest.hasRemaining() ? ByteBuffer.allocate(rest.remaining()).put(rest).flip() : null;
      established.accept(copy);
      return;
    }
    IoUtils.safeClose(dest);
    if (status < 0) {
      result.completeExceptionally(new UpstreamResponseException("parent proxy " + parent
          + " sent an invalid response to CONNECT"));
    } else if (status == 407) {
      log.warn("parent proxy {} refused this proxy's credentials (407)", parent);
      result.complete(ProxyResponse.of(502, "Bad Gateway: the parent proxy refused this proxy's credentials\n"));
    } else if (status >= 400 && status <= 599) {
      result.complete(ProxyResponse.of(status, "The parent proxy refused the tunnel: " + status + "\n"));
    } else {
      result.complete(ProxyResponse.of(502, "Bad Gateway: the parent proxy answered CONNECT with " + status + "\n"));
    }
  }

  private void fail(RuntimeException e) {
    cancelTimer();
    IoUtils.safeClose(dest);
    result.completeExceptionally(e);
  }

  private void cancelTimer() {
    if (timer != null) {
      timer.remove();
      timer = null;
    }
  }

  /** Index just past the blank line ending a response head, or -1. */
  static int headEnd(ByteBuffer b) {
    byte[] a = b.array();
    int n = b.position();
    for (int i = 3; i < n; i++) {
      if (a[i] == '\n' && a[i - 1] == '\r' && a[i - 2] == '\n' && a[i - 3] == '\r') {
        return i + 1;
      }
    }
    return -1;
  }
}
