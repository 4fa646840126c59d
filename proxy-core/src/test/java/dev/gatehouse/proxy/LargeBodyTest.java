package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * 200 MiB each way through the proxy. Runs in its own surefire execution with {@code -Xmx64m}, so a
 * proxy that buffered a whole body could not pass.
 */
@Timeout(240)
class LargeBodyTest {
  private static final long SIZE = 200L * 1024 * 1024;
  /** The CRC of {@link #SIZE} bytes of the pattern, computed once. */
  private static long expectedCrc;

  /** A deterministic byte pattern and its CRC, generated as it is read. */
  static final class Pattern extends InputStream {
    private final long size;
    private long pos;
    final CRC32 crc = new CRC32();

    Pattern(long size) {
      this.size = size;
    }

    @Override
    public int read() {
      if (pos >= size) {
        return -1;
      }
      int b = (int) ((pos * 31 + (pos >> 13)) & 0xFF);
      pos++;
      crc.update(b);
      return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) {
      if (pos >= size) {
        return -1;
      }
      int n = (int) Math.min(len, size - pos);
      for (int i = 0; i < n; i++) {
        buf[off + i] = (byte) (((pos + i) * 31 + ((pos + i) >> 13)) & 0xFF);
      }
      crc.update(buf, off, n);
      pos += n;
      return n;
    }
  }

  @org.junit.jupiter.api.BeforeAll
  static void heapIsCappedBelowTheBodySize() {
    // run by the 'large-bodies' surefire execution with -Xmx64m (mvn verify)
    assertThat(Runtime.getRuntime().maxMemory()).isLessThan(SIZE);
  }

  static synchronized long expectedCrc() {
    if (expectedCrc != 0) {
      return expectedCrc;
    }
    Pattern p = new Pattern(SIZE);
    byte[] buf = new byte[65536];
    while (p.read(buf, 0, buf.length) > 0) {
      // drain
    }
    expectedCrc = p.crc.getValue();
    return expectedCrc;
  }

  @Test
  void twoHundredMebibytesStreamUpstreamWithCappedHeap() throws Exception {
    AtomicLong received = new AtomicLong();
    CRC32 upstreamCrc = new CRC32();
    try (RawUpstream up = RawUpstream.start(c -> {
          RawUpstream.Request head = c.readRequest(false);
          long length = Long.parseLong(head.header("content-length"));
          byte[] buf = new byte[65536];
          long left = length;
          while (left > 0) {
            int n = c.in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
              break;
            }
            upstreamCrc.update(buf, 0, n);
            left -= n;
            received.addAndGet(n);
          }
          c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
         ProxyServer proxy = TestProxy.to(up.url())) {
      HttpClient client = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/upload"))
          .timeout(Duration.ofSeconds(200))
          .POST(HttpRequest.BodyPublishers.fromPublisher(
              HttpRequest.BodyPublishers.ofInputStream(() -> new Pattern(SIZE)), SIZE))
          .build();

      HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(received.get()).isEqualTo(SIZE);
      assertThat(upstreamCrc.getValue()).isEqualTo(expectedCrc());
    }
  }

  @Test
  void twoHundredMebibytesStreamDownstreamWithCappedHeap() throws Exception {
    try (RawUpstream up = RawUpstream.start(c -> {
          c.readRequest();
          c.write(("HTTP/1.1 200 OK\r\nContent-Length: " + SIZE + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
          Pattern p = new Pattern(SIZE);
          byte[] buf = new byte[65536];
          OutputStream out = c.out;
          int n;
          while ((n = p.read(buf, 0, buf.length)) > 0) {
            out.write(buf, 0, n);
          }
          out.flush();
        });
         ProxyServer proxy = TestProxy.to(up.url())) {
      HttpClient client = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/download"))
          .timeout(Duration.ofSeconds(200)).build();

      HttpResponse<InputStream> r = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
      CRC32 crc = new CRC32();
      long total = 0;
      try (InputStream in = r.body()) {
        byte[] buf = new byte[65536];
        int n;
        while ((n = in.read(buf)) > 0) {
          crc.update(buf, 0, n);
          total += n;
        }
      }

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(total).isEqualTo(SIZE);
      assertThat(crc.getValue()).isEqualTo(expectedCrc());
    }
  }

  @Test
  void chunkedUploadOfUnknownLengthStreamsToo() throws Exception {
    AtomicLong received = new AtomicLong();
    try (RawUpstream up = RawUpstream.start(c -> {
          RawUpstream.Request head = c.readRequest(false);
          assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
          // count the de-chunked payload without holding it
          long total = 0;
          for (;;) {
            StringBuilder line = new StringBuilder();
            int b;
            while ((b = c.in.read()) != '\n') {
              line.append((char) b);
            }
            int n = Integer.parseInt(line.toString().trim(), 16);
            if (n == 0) {
              c.in.read();
              c.in.read();
              break;
            }
            c.in.readNBytes(n);
            total += n;
            c.in.read();
            c.in.read();
          }
          received.set(total);
          c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
         ProxyServer proxy = TestProxy.to(up.url())) {
      HttpClient client = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
      long size = 20L * 1024 * 1024;
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/chunked"))
          .timeout(Duration.ofSeconds(100))
          .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new Pattern(size)))
          .build();

      HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(received.get()).isEqualTo(size);
    }
  }
}
