package dev.gatehouse.proxy.internal.pool;

import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.internal.http1.ResponseHeadParser;
import dev.gatehouse.proxy.spi.ClientTls;
import dev.gatehouse.proxy.spi.Endpoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;
import org.xnio.conduits.ConduitStreamSinkChannel;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * One non-blocking health check: connects (TLS for https), sends a request with {@code Connection:
 * close}, reads the status line and fields with the strict {@link ResponseHeadParser}, and closes. For
 * a group that speaks HTTP/2 the check does too (h2 by ALPN, falling back to HTTP/1.1 when the server
 * declines; h2c with prior knowledge over cleartext), so an h2c-only server is not marked down.
 * Everything runs on one I/O thread and the whole check is bounded by one timeout, so nothing lingers
 * after it reports.
 */
public final class HealthProbe {
  private static final int READ_BUFFER = 4096;
  private static final String[] H2_ALPN = {"h2", "http/1.1"};
  /** Buffers for HTTP/2 probes: a frame of the default maximum size and its header fit in one. */
  private static final io.undertow.connector.ByteBufferPool H2_BUFFERS =
      new io.undertow.server.DefaultByteBufferPool(false, 17 * 1024, 32, 4);

  private final XnioIoThread thread;
  private final Endpoint endpoint;
  private final ClientTls tls;
  private final byte[] request;
  private final String method;
  private final String pathAndQuery;
  private final String host;
  private final boolean http2;
  private final Duration timeout;
  private final BiConsumer<Integer, Throwable> done;
  private final ResponseHeadParser parser = new ResponseHeadParser();
  private XnioExecutor.Key timer;
  private StreamConnection connection;
  private ByteBuffer out;
  private boolean finished;

  private HealthProbe(XnioIoThread thread, Endpoint endpoint, ClientTls tls, byte[] request, String method,
      String pathAndQuery, String host, boolean http2, Duration timeout, BiConsumer<Integer, Throwable> done) {
    this.thread = thread;
    this.endpoint = endpoint;
    this.tls = tls;
    this.request = request;
    this.method = method;
    this.pathAndQuery = pathAndQuery;
    this.host = host;
    this.http2 = http2;
    this.timeout = timeout;
    this.done = done;
  }

  /**
   * Checks {@code endpoint} on {@code thread} (must be called on it). {@code done} gets the final status
   * code, or the failure (connect error, timeout, malformed response), on that thread, exactly once.
   *
   * @param host the {@code Host} field, or null for the endpoint's authority
   */
  public static void check(XnioIoThread thread, java.util.concurrent.Executor resolver, Endpoint endpoint,
      ClientTls tls, String method, String pathAndQuery, String host, Duration timeout,
      BiConsumer<Integer, Throwable> done) {
    check(thread, resolver, endpoint, tls, false, method, pathAndQuery, host, timeout, done);
  }

  /** As above; with {@code http2} the check speaks HTTP/2 as the group's requests do. */
  public static void check(XnioIoThread thread, java.util.concurrent.Executor resolver, Endpoint endpoint,
      ClientTls tls, boolean http2, String method, String pathAndQuery, String host, Duration timeout,
      BiConsumer<Integer, Throwable> done) {
    String head = method + " " + pathAndQuery + " HTTP/1.1\r\n"
        + "Host: " + (host != null ? host : endpoint.authority()) + "\r\n"
        + "User-Agent: gatehouse-health-check\r\n"
        + "Accept: */*\r\n"
        + "Connection: close\r\n\r\n";
    HealthProbe p = new HealthProbe(thread, endpoint, tls, head.getBytes(StandardCharsets.ISO_8859_1), method,
        pathAndQuery, host, http2, timeout, done);
    p.timer = thread.executeAfter(p::timedOut, Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
    String[] alpn = http2 && endpoint.isTls() ? H2_ALPN : null;
    Connector.connect(thread, endpoint, tls, alpn, Math.max(1, timeout.toMillis()), resolver, new Connector.Callback() {
      @Override
      public void connected(StreamConnection c) {
        p.connected(c);
      }

      @Override
      public void failed(RuntimeException failure) {
        p.finish(null, failure);
      }
    });
  }

  private void connected(StreamConnection c) {
    if (finished) {
      IoUtils.safeClose(c);
      return;
    }
    connection = c;
    if (http2 && (!endpoint.isTls() || "h2".equals(Connector.applicationProtocol(c)))) {
      checkOverHttp2(c);
      return;
    }
    out = ByteBuffer.wrap(request);
    ConduitStreamSinkChannel sink = c.getSinkChannel();
    sink.getWriteSetter().set(ch -> write());
    ConduitStreamSourceChannel source = c.getSourceChannel();
    ByteBuffer in = ByteBuffer.allocate(READ_BUFFER);
    source.getReadSetter().set(ch -> read(ch, in));
    write();
  }

  private void write() {
    if (finished) {
      return;
    }
    ConduitStreamSinkChannel sink = connection.getSinkChannel();
    try {
      while (out.hasRemaining()) {
        if (sink.write(out) == 0) {
          sink.resumeWrites();
          return;
        }
      }
      if (!sink.flush()) {
        sink.resumeWrites();
        return;
      }
      sink.suspendWrites();
      connection.getSourceChannel().resumeReads();
    } catch (IOException e) {
      finish(null, new UpstreamResponseException("health check of " + endpoint + ": " + e.getMessage(), e));
    }
  }

  private void read(ConduitStreamSourceChannel ch, ByteBuffer in) {
    if (finished) {
      return;
    }
    try {
      for (;;) {
        in.clear();
        int n = ch.read(in);
        if (n == 0) {
          return;
        }
        if (n < 0) {
          finish(null, new UpstreamResponseException("health check of " + endpoint
              + ": connection closed before a response"));
          return;
        }
        in.flip();
        while (parser.feed(in)) {
          if (parser.status() >= 200) {
            finish(parser.status(), null);
            return;
          }
          parser.reset(); // interim response
        }
      }
    } catch (IOException e) {
      finish(null, new UpstreamResponseException("health check of " + endpoint + ": " + e.getMessage(), e));
    } catch (UpstreamResponseException e) {
      finish(null, e);
    }
  }

  private void checkOverHttp2(StreamConnection c) {
    io.undertow.client.http2.Http2ClientConnection h2;
    try {
      io.undertow.protocols.http2.Http2Channel channel = new io.undertow.protocols.http2.Http2Channel(c,
          endpoint.isTls() ? "h2" : "h2c", H2_BUFFERS, null, true, false, org.xnio.OptionMap.EMPTY);
      h2 = new io.undertow.client.http2.Http2ClientConnection(channel, false, endpoint.authority(), null,
          endpoint.isTls());
    } catch (RuntimeException e) {
      finish(null, new UpstreamResponseException("health check of " + endpoint + ": " + e.getMessage(), e));
      return;
    }
    io.undertow.client.ClientRequest cr = new io.undertow.client.ClientRequest()
        .setMethod(io.undertow.util.HttpString.tryFromString(method)).setPath(pathAndQuery);
    cr.getRequestHeaders().put(io.undertow.util.Headers.HOST, host != null ? host : endpoint.authority());
    cr.getRequestHeaders().put(io.undertow.util.Headers.USER_AGENT, "gatehouse-health-check");
    cr.getRequestHeaders().put(io.undertow.util.Headers.ACCEPT, "*/*");
    io.undertow.client.ClientCallback<io.undertow.client.ClientExchange> onResponse =
        new io.undertow.client.ClientCallback<>() {
          @Override
          public void completed(io.undertow.client.ClientExchange x) {
            finish(x.getResponse().getResponseCode(), null);
          }

          @Override
          public void failed(IOException e) {
            finish(null, new UpstreamResponseException("health check of " + endpoint + " over HTTP/2: "
                + e.getMessage(), e));
          }
        };
    h2.sendRequest(cr, new io.undertow.client.ClientCallback<>() {
      @Override
      public void completed(io.undertow.client.ClientExchange x) {
        x.setResponseListener(onResponse);
      }

      @Override
      public void failed(IOException e) {
        onResponse.failed(e);
      }
    });
  }

  private void timedOut() {
    timer = null;
    finish(null, new UpstreamTimeoutException("health check of " + endpoint + " took longer than " + timeout));
  }

  private void finish(Integer status, Throwable error) {
    if (finished) {
      return;
    }
    finished = true;
    if (timer != null) {
      timer.remove();
      timer = null;
    }
    IoUtils.safeClose(connection);
    done.accept(status, error);
  }
}
