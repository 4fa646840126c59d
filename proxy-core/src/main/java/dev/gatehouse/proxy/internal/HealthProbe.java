package dev.gatehouse.proxy.internal;

import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
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
 * One non-blocking HTTP/1.1 health check: connects (TLS for https), sends a request with {@code
 * Connection: close}, reads the status line and fields with the strict {@link ResponseHeadParser}, and
 * closes. Everything runs on one I/O thread and the whole check is bounded by one timeout, so nothing
 * lingers after it reports.
 */
public final class HealthProbe {
  private static final int READ_BUFFER = 4096;

  private final XnioIoThread thread;
  private final Endpoint endpoint;
  private final ClientTls tls;
  private final byte[] request;
  private final Duration timeout;
  private final BiConsumer<Integer, Throwable> done;
  private final ResponseHeadParser parser = new ResponseHeadParser();
  private XnioExecutor.Key timer;
  private StreamConnection connection;
  private ByteBuffer out;
  private boolean finished;

  private HealthProbe(XnioIoThread thread, Endpoint endpoint, ClientTls tls, byte[] request, Duration timeout,
      BiConsumer<Integer, Throwable> done) {
    this.thread = thread;
    this.endpoint = endpoint;
    this.tls = tls;
    this.request = request;
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
    String head = method + " " + pathAndQuery + " HTTP/1.1\r\n"
        + "Host: " + (host != null ? host : endpoint.authority()) + "\r\n"
        + "User-Agent: gatehouse-health-check\r\n"
        + "Accept: */*\r\n"
        + "Connection: close\r\n\r\n";
    HealthProbe p = new HealthProbe(thread, endpoint, tls, head.getBytes(StandardCharsets.ISO_8859_1), timeout, done);
    p.timer = thread.executeAfter(p::timedOut, Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
    Connector.connect(thread, endpoint, tls, Math.max(1, timeout.toMillis()), resolver, new Connector.Callback() {
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
          if (parser.status >= 200) {
            finish(parser.status, null);
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
