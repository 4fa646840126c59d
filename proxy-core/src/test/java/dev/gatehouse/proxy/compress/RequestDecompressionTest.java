package dev.gatehouse.proxy.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.aayushatharva.brotli4j.encoder.Encoder;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class RequestDecompressionTest {
  private final HttpClient client = Clients.http();
  private RawUpstream upstream;

  @BeforeEach
  void start() throws IOException {
    upstream = RawUpstream.keepAlive("ok");
  }

  @AfterEach
  void stop() throws IOException {
    upstream.close();
  }

  static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(data);
    }
    return out.toByteArray();
  }

  private ProxyServer proxy(RequestDecompression filter) {
    return TestProxy.builder().upstream(upstream.url()).addFilter(filter).build().start();
  }

  private HttpResponse<String> post(ProxyServer proxy, String encoding, byte[] body) throws Exception {
    HttpRequest.Builder b = Clients.request(proxy, "/ingest").POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (encoding != null) {
      b.header("Content-Encoding", encoding);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aGzipBodyReachesTheUpstreamDecompressedAndWithoutContentEncoding() throws Exception {
    byte[] original = CompressionTest.text(200_000, 7);
    try (ProxyServer proxy = proxy(RequestDecompression.builder().build())) {
      HttpResponse<String> r = post(proxy, "gzip", gzip(original));

      assertThat(r.statusCode()).isEqualTo(200);
      RawUpstream.Request got = upstream.nextRequest();
      assertThat(got.complete).isTrue();
      assertThat(got.body).isEqualTo(original);
      assertThat(got.header("Content-Encoding")).isNull();
    }
  }

  @Test
  void aBrotliBodyAndSeveralGzipMembersAreDecodedToo() throws Exception {
    byte[] original = CompressionTest.text(100_000, 8);
    byte[] half1 = Arrays.copyOfRange(original, 0, 40_000);
    byte[] half2 = Arrays.copyOfRange(original, 40_000, original.length);
    ByteArrayOutputStream members = new ByteArrayOutputStream();
    members.writeBytes(gzip(half1));
    members.writeBytes(gzip(half2));
    try (ProxyServer proxy = proxy(RequestDecompression.builder().build())) {
      assertThat(post(proxy, "br", Encoder.compress(original)).statusCode()).isEqualTo(200);
      assertThat(upstream.nextRequest().body).isEqualTo(original);
      assertThat(post(proxy, "gzip", members.toByteArray()).statusCode()).isEqualTo(200);
      assertThat(upstream.nextRequest().body).isEqualTo(original);
    }
  }

  @Test
  void aGzipHeaderWithNameCommentExtraAndHeaderCrcIsSkipped() throws Exception {
    byte[] plain = "hello, decompressed world".getBytes();
    byte[] standard = gzip(plain);
    ByteArrayOutputStream crafted = new ByteArrayOutputStream();
    crafted.write(new byte[] {0x1f, (byte) 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3});
    crafted.write(new byte[] {3, 0, 'x', 'y', 'z'}); // FEXTRA
    crafted.write("name.txt\0".getBytes()); // FNAME
    crafted.write("a comment\0".getBytes()); // FCOMMENT
    crafted.write(new byte[] {0, 0}); // FHCRC (not checked)
    crafted.write(standard, 10, standard.length - 10);
    try (ProxyServer proxy = proxy(RequestDecompression.builder().build())) {
      assertThat(post(proxy, "gzip", crafted.toByteArray()).statusCode()).isEqualTo(200);
      assertThat(upstream.nextRequest().bodyText()).isEqualTo("hello, decompressed world");
    }
  }

  @Test
  void aDecompressionBombGets413AndTheUpstreamNeverSeesACompleteRequest() throws Exception {
    ByteArrayOutputStream packed = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(packed)) {
      byte[] zeros = new byte[1024 * 1024];
      for (int i = 0; i < 64; i++) {
        z.write(zeros); // 64 MiB of zeros in about 64 KiB
      }
    }
    byte[] bomb = packed.toByteArray();
    assertThat(bomb.length).isLessThan(100_000);
    try (ProxyServer proxy = proxy(RequestDecompression.builder().maxDecompressedSize(1024 * 1024).build())) {
      HttpResponse<String> r = post(proxy, "gzip", bomb);

      assertThat(r.statusCode()).isEqualTo(413);
      RawUpstream.Request got = upstream.requests.poll(200, TimeUnit.MILLISECONDS);
      assertThat(got == null || !got.complete).as("the upstream got no complete request").isTrue();
      if (got != null) {
        assertThat(got.body.length).isLessThanOrEqualTo(1024 * 1024);
      }
    }
  }

  @Test
  void corruptOrTruncatedDataGets400AndTheUpstreamNeverSeesACompleteRequest() throws Exception {
    byte[] good = gzip(CompressionTest.text(50_000, 9));
    byte[] truncated = Arrays.copyOf(good, good.length - 20);
    byte[] corrupt = good.clone();
    corrupt[good.length / 2] ^= 0x55;
    corrupt[good.length / 2 + 1] ^= 0x55;
    byte[] notGzip = "plain text, not gzip at all".getBytes();
    try (ProxyServer proxy = proxy(RequestDecompression.builder().build())) {
      for (byte[] bad : new byte[][] {truncated, corrupt, notGzip}) {
        HttpResponse<String> r = post(proxy, "gzip", bad);
        assertThat(r.statusCode()).isEqualTo(400);
        RawUpstream.Request got = upstream.requests.poll(200, TimeUnit.MILLISECONDS);
        assertThat(got == null || !got.complete).isTrue();
      }
    }
  }

  @Test
  void anUnknownCodingGets415NamingTheAcceptedOnesUnlessLetThrough() throws Exception {
    try (ProxyServer proxy = proxy(RequestDecompression.builder().encodings(Encoding.GZIP).build())) {
      for (String coding : new String[] {"compress", "br", "gzip, gzip"}) {
        HttpResponse<String> r = post(proxy, coding, "x".getBytes());
        assertThat(r.statusCode()).as(coding).isEqualTo(415);
        assertThat(r.headers().firstValue("Accept-Encoding")).hasValue("gzip");
      }
      assertThat(upstream.requests).isEmpty();
    }
    try (ProxyServer proxy = proxy(RequestDecompression.builder().passUnsupported(true).build())) {
      assertThat(post(proxy, "compress", "x".getBytes()).statusCode()).isEqualTo(200);
      RawUpstream.Request got = upstream.nextRequest();
      assertThat(got.header("Content-Encoding")).isEqualTo("compress");
      assertThat(got.bodyText()).isEqualTo("x");
    }
  }

  @Test
  void bodiesWithoutContentEncodingPassUnchanged() throws Exception {
    try (ProxyServer proxy = proxy(RequestDecompression.builder().build())) {
      assertThat(post(proxy, null, "plain".getBytes()).statusCode()).isEqualTo(200);
      assertThat(upstream.nextRequest().bodyText()).isEqualTo("plain");
      assertThat(post(proxy, "identity", "plain".getBytes()).statusCode()).isEqualTo(200);
      RawUpstream.Request got = upstream.nextRequest();
      assertThat(got.bodyText()).isEqualTo("plain");
      assertThat(got.header("Content-Encoding")).isNull();
    }
  }

  @Test
  void builderMisuseFailsAtOnce() {
    assertThatThrownBy(() -> RequestDecompression.builder().maxDecompressedSize(0))
        .hasMessage("maxDecompressedSize: 0 (expected: > 0)");
    assertThatThrownBy(() -> RequestDecompression.builder().encodings(Encoding.ZSTD))
        .hasMessage("encodings: zstd (expected: gzip or br)");
  }
}
