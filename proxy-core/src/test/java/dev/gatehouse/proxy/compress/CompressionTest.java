package dev.gatehouse.proxy.compress;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.ZstdInputStream;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.Clients;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(30)
class CompressionTest {
  @RegisterExtension
  static WireMockExtension upstream = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort().gzipDisabled(true)).build();

  private final HttpClient client = Clients.http();

  /** Text that compresses, but not trivially: words from a small vocabulary in random order. */
  static byte[] text(int size, long seed) {
    String[] words = {"gatehouse", "proxy", "filter", "chain", "upstream", "route", "header", "body", "stream",
        "token", "limit", "origin", "json", "{\"id\":", "42}", "\n"};
    Random r = new Random(seed);
    StringBuilder sb = new StringBuilder(size + 16);
    while (sb.length() < size) {
      sb.append(words[r.nextInt(words.length)]).append(' ');
    }
    return sb.substring(0, size).getBytes(StandardCharsets.UTF_8);
  }

  private ProxyServer proxy(Compression compression) {
    return TestProxy.builder().upstream(upstream.baseUrl()).addFilter(compression).build().start();
  }

  private HttpResponse<byte[]> fetch(ProxyServer proxy, String path, String acceptEncoding) throws Exception {
    HttpRequest.Builder b = Clients.request(proxy, path).GET();
    if (acceptEncoding != null) {
      b.header("Accept-Encoding", acceptEncoding);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static byte[] decode(String encoding, byte[] body) throws IOException {
    InputStream in = new ByteArrayInputStream(body);
    switch (encoding) {
      case "gzip":
        in = new GZIPInputStream(in);
        break;
      case "br":
        // brotli4j's BrotliInputStream can stop one step short of the end of a valid stream: decode in one go
        com.aayushatharva.brotli4j.decoder.DirectDecompress d = com.aayushatharva.brotli4j.decoder.Decoder.decompress(body);
        if (d.getResultStatus() != com.aayushatharva.brotli4j.decoder.DecoderJNI.Status.DONE) {
          throw new IOException("br: " + d.getResultStatus());
        }
        return d.getDecompressedData();
      case "zstd":
        in = new ZstdInputStream(in);
        break;
      default:
        throw new AssertionError(encoding);
    }
    try (InputStream s = in) {
      return s.readAllBytes();
    }
  }

  @Test
  void eachEncodingRoundTripsByteForByteAndTheResponseHeadersSayWhatChanged() throws Exception {
    byte[] original = text(300_000, 1);
    upstream.stubFor(get("/doc").willReturn(aResponse().withHeader("Content-Type", "application/json; charset=utf-8")
        .withHeader("ETag", "\"v1\"").withHeader("Accept-Ranges", "bytes").withBody(original)));
    try (ProxyServer proxy = proxy(Compression.defaults())) {
      for (String encoding : new String[] {"gzip", "br", "zstd"}) {
        HttpResponse<byte[]> r = fetch(proxy, "/doc", encoding);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Encoding")).hasValue(encoding);
        assertThat(r.headers().allValues("Vary")).containsExactly("Accept-Encoding");
        assertThat(r.headers().firstValue("ETag")).hasValue("W/\"v1\"");
        assertThat(r.headers().firstValue("Accept-Ranges")).isEmpty();
        assertThat(r.body().length).isLessThan(original.length / 2);
        assertThat(decode(encoding, r.body())).isEqualTo(original);
      }
      upstream.verify(3, getRequestedFor(urlEqualTo("/doc")).withHeader("Accept-Encoding", com.github.tomakehurst.wiremock.client.WireMock.matching("gzip|br|zstd")));
    }
  }

  @Test
  void theClientsWeightsWinAndTiesGoToTheServersOrder() throws Exception {
    upstream.stubFor(get("/doc").willReturn(aResponse().withHeader("Content-Type", "text/html").withBody(text(5000, 2))));
    Compression c = Compression.builder().encodings(Encoding.BROTLI, Encoding.ZSTD, Encoding.GZIP).build();
    try (ProxyServer proxy = proxy(c)) {
      assertThat(encodingFor(proxy, "gzip, deflate, br, zstd")).isEqualTo("br");
      assertThat(encodingFor(proxy, "gzip;q=1.0, br;q=0.5")).isEqualTo("gzip");
      assertThat(encodingFor(proxy, "br;q=0, *;q=0.1")).isEqualTo("zstd");
      assertThat(encodingFor(proxy, "x-gzip")).isEqualTo("gzip");
      assertThat(encodingFor(proxy, "GZIP ; Q=0.3 , deflate")).isEqualTo("gzip");
      assertThat(encodingFor(proxy, "gzip;q=0")).isEqualTo("none");
      assertThat(encodingFor(proxy, "identity")).isEqualTo("none");
      assertThat(encodingFor(proxy, "gzip;q=2, br;q=abc")).isEqualTo("none");
      assertThat(encodingFor(proxy, null)).isEqualTo("none");
    }
  }

  private String encodingFor(ProxyServer proxy, String acceptEncoding) throws Exception {
    HttpResponse<byte[]> r = fetch(proxy, "/doc", acceptEncoding);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().allValues("Vary")).containsExactly("Accept-Encoding");
    String e = r.headers().firstValue("Content-Encoding").orElse("none");
    byte[] body = e.equals("none") ? r.body() : decode(e, r.body());
    assertThat(body).isEqualTo(text(5000, 2));
    return e;
  }

  @Test
  void responsesThatMustNotBeCompressedPassUntouched() throws Exception {
    byte[] big = text(4000, 3);
    upstream.stubFor(get("/small").willReturn(aResponse().withHeader("Content-Type", "text/plain").withHeader("Content-Length", "4").withBody("tiny")));
    upstream.stubFor(get("/png").willReturn(aResponse().withHeader("Content-Type", "image/png").withBody(big)));
    upstream.stubFor(get("/untyped").willReturn(aResponse().withBody(big)));
    upstream.stubFor(get("/encoded").willReturn(aResponse().withHeader("Content-Type", "text/plain")
        .withHeader("Content-Encoding", "deflate").withBody(big)));
    upstream.stubFor(get("/no-transform").willReturn(aResponse().withHeader("Content-Type", "text/plain")
        .withHeader("Cache-Control", "public, no-transform").withBody(big)));
    upstream.stubFor(get("/partial").willReturn(aResponse().withStatus(206).withHeader("Content-Type", "text/plain")
        .withHeader("Content-Range", "bytes 0-3999/9000").withBody(big)));
    upstream.stubFor(get("/not-modified").willReturn(aResponse().withStatus(304).withHeader("ETag", "\"e\"")));
    upstream.stubFor(get("/empty").willReturn(aResponse().withStatus(204).withHeader("Content-Type", "text/plain")));
    try (ProxyServer proxy = proxy(Compression.defaults())) {
      for (String path : new String[] {"/small", "/png", "/untyped", "/encoded", "/no-transform", "/partial"}) {
        HttpResponse<byte[]> r = fetch(proxy, path, "gzip, br");
        assertThat(r.headers().firstValue("Content-Encoding")).as(path).isNotEqualTo(java.util.Optional.of("gzip"))
            .isNotEqualTo(java.util.Optional.of("br"));
        assertThat(r.headers().allValues("Vary")).as(path).isEmpty();
        assertThat(r.body()).as(path).isEqualTo(path.equals("/small") ? "tiny".getBytes() : big);
      }
      HttpResponse<byte[]> notModified = fetch(proxy, "/not-modified", "gzip");
      assertThat(notModified.statusCode()).isEqualTo(304);
      assertThat(notModified.headers().firstValue("ETag")).hasValue("\"e\"");
      assertThat(notModified.headers().firstValue("Content-Encoding")).isEmpty();
      HttpResponse<byte[]> empty = fetch(proxy, "/empty", "gzip");
      assertThat(empty.statusCode()).isEqualTo(204);
      assertThat(empty.headers().firstValue("Content-Encoding")).isEmpty();
    }
  }

  @Test
  void headRequestsAreNeverCompressed() throws Exception {
    upstream.stubFor(any(urlEqualTo("/doc")).willReturn(aResponse().withHeader("Content-Type", "text/plain")
        .withHeader("Content-Length", "4000")));
    try (ProxyServer proxy = proxy(Compression.defaults())) {
      HttpResponse<Void> r = client.send(Clients.request(proxy, "/doc").method("HEAD", HttpRequest.BodyPublishers.noBody())
          .header("Accept-Encoding", "gzip").build(), HttpResponse.BodyHandlers.discarding());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("Content-Encoding")).isEmpty();
      assertThat(r.headers().firstValue("Content-Length")).hasValue("4000");
    }
  }

  @Test
  void anExistingVaryIsExtendedNotReplacedAndAWeakEtagStaysAsItIs() throws Exception {
    upstream.stubFor(get("/doc").willReturn(aResponse().withHeader("Content-Type", "text/css")
        .withHeader("Vary", "Origin").withHeader("ETag", "W/\"w\"").withBody(text(3000, 4))));
    try (ProxyServer proxy = proxy(Compression.defaults())) {
      HttpResponse<byte[]> r = fetch(proxy, "/doc", "gzip");
      assertThat(r.headers().allValues("Vary")).containsExactly("Origin", "Accept-Encoding");
      assertThat(r.headers().firstValue("ETag")).hasValue("W/\"w\"");
      assertThat(decode("gzip", r.body())).isEqualTo(text(3000, 4));
    }
  }

  @Test
  void aChunkedBodyOfSeveralMegabytesStreamsThroughAndDecodesExactly() throws Exception {
    byte[] original = text(6 * 1024 * 1024, 5);
    try (RawUpstream chunked = RawUpstream.start(c -> {
      while (c.readRequest() != null) {
        c.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < original.length; i += 50_000) {
          int n = Math.min(50_000, original.length - i);
          c.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
          c.out.write(original, i, n);
          c.write("\r\n");
        }
        c.write("0\r\n\r\n");
      }
    });
        ProxyServer proxy = TestProxy.builder().upstream(chunked.url())
            .addFilter(Compression.builder().level(Encoding.GZIP, 1).build()).build().start()) {
      for (String encoding : new String[] {"gzip", "br", "zstd"}) {
        HttpResponse<byte[]> r = fetch(proxy, "/big", encoding);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Encoding")).hasValue(encoding);
        assertThat(r.headers().firstValue("Transfer-Encoding")).hasValue("chunked");
        assertThat(decode(encoding, r.body())).isEqualTo(original);
      }
    }
  }

  @Test
  void serverSentEventsAreFlushedAsTheyArriveNotHeldForTheWindowToFill() throws Exception {
    CountDownLatch firstEventRead = new CountDownLatch(1);
    try (RawUpstream sse = RawUpstream.start(c -> {
      c.readRequest();
      c.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
      String first = "data: first event\n\n";
      c.write(Integer.toHexString(first.length()) + "\r\n" + first + "\r\n");
      // the second event only comes once the client has decoded the first: a proxy that held the
      // first one back in its compressor would never get here
      if (!firstEventRead.await(10, TimeUnit.SECONDS)) {
        return;
      }
      String second = "data: second event\n\n";
      c.write(Integer.toHexString(second.length()) + "\r\n" + second + "\r\n0\r\n\r\n");
    });
        ProxyServer proxy = TestProxy.builder().upstream(sse.url())
            .addFilter(Compression.builder().encodings(Encoding.GZIP).minSize(0).build()).build().start()) {
      for (String encoding : new String[] {"gzip"}) {
        HttpResponse<InputStream> r = client.send(Clients.request(proxy, "/events").header("Accept-Encoding", encoding)
            .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.headers().firstValue("Content-Encoding")).hasValue(encoding);
        try (InputStream events = new GZIPInputStream(r.body(), 64)) {
          byte[] first = events.readNBytes("data: first event\n\n".length());
          assertThat(new String(first, StandardCharsets.UTF_8)).isEqualTo("data: first event\n\n");
          firstEventRead.countDown();
          assertThat(new String(events.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("data: second event\n\n");
        }
      }
    }
  }

  @Test
  void serverSentEventsAreFlushedWithBrotliAndZstdToo() throws Exception {
    for (Encoding e : new Encoding[] {Encoding.BROTLI, Encoding.ZSTD}) {
      CountDownLatch firstEventRead = new CountDownLatch(1);
      try (RawUpstream sse = RawUpstream.start(c -> {
        c.readRequest();
        c.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
        String first = "data: first event\n\n";
        c.write(Integer.toHexString(first.length()) + "\r\n" + first + "\r\n");
        if (!firstEventRead.await(10, TimeUnit.SECONDS)) {
          return;
        }
        c.write("0\r\n\r\n");
      });
          ProxyServer proxy = TestProxy.builder().upstream(sse.url())
              .addFilter(Compression.builder().encodings(e).minSize(0).build()).build().start()) {
        HttpResponse<InputStream> r = client.send(Clients.request(proxy, "/events").header("Accept-Encoding", e.token())
            .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        InputStream body = r.body();
        byte[] first;
        if (e == Encoding.BROTLI) {
          // brotli4j's BrotliInputStream reads ahead before it hands out output: decode what has arrived
          first = CodecTest.decodeAvailable(new BrotliCodec.Decompressor(1 << 20), body, 19);
        } else {
          first = new ZstdInputStream(body).readNBytes(19);
        }
        assertThat(new String(first, StandardCharsets.UTF_8)).as(e.token()).isEqualTo("data: first event\n\n");
        firstEventRead.countDown();
        body.close();
      }
    }
  }

  @Test
  void responsesMadeByFiltersAreCompressedToo() throws Exception {
    byte[] body = text(8000, 6);
    try (ProxyServer proxy = TestProxy.builder().upstream(upstream.baseUrl())
        .addFilter(Compression.defaults())
        .addFilter((ex, chain) -> CompletableFuture.completedFuture(ProxyResponse.of(200, body, "text/plain")))
        .build().start()) {
      HttpResponse<byte[]> r = fetch(proxy, "/local", "gzip");
      assertThat(r.headers().firstValue("Content-Encoding")).hasValue("gzip");
      assertThat(r.headers().firstValue("Content-Length")).hasValue(String.valueOf(r.body().length));
      assertThat(decode("gzip", r.body())).isEqualTo(body);
      upstream.verify(0, com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor(anyUrl()));
    }
  }

  @Test
  void typesAndMinimumSizeCanBeChanged() throws Exception {
    upstream.stubFor(get("/csv").willReturn(aResponse().withHeader("Content-Type", "text/csv").withBody("a,b\n1,2\n")));
    upstream.stubFor(get("/bin").willReturn(aResponse().withHeader("Content-Type", "application/octet-stream")
        .withBody("0123456789")));
    Compression c = Compression.builder().compressibleTypes("application/octet-stream").minSize(0).build();
    try (ProxyServer proxy = proxy(c)) {
      assertThat(fetch(proxy, "/csv", "gzip").headers().firstValue("Content-Encoding")).isEmpty();
      HttpResponse<byte[]> bin = fetch(proxy, "/bin", "gzip");
      assertThat(bin.headers().firstValue("Content-Encoding")).hasValue("gzip");
      assertThat(decode("gzip", bin.body())).isEqualTo("0123456789".getBytes());
    }
  }

  @Test
  void builderMisuseFailsAtOnceWithTheSettingTheValueAndWhatIsExpected() {
    assertThatThrownBy(() -> Compression.builder().level(Encoding.BROTLI, 12))
        .hasMessage("level: br 12 (expected: 0-11)");
    assertThatThrownBy(() -> Compression.builder().level(Encoding.GZIP, 0))
        .hasMessage("level: gzip 0 (expected: 1-9)");
    assertThatThrownBy(() -> Compression.builder().minSize(-1)).hasMessage("minSize: -1 (expected: >= 0)");
    assertThatThrownBy(() -> Compression.builder().compressibleTypes("text"))
        .hasMessage("compressibleTypes: \"text\" (expected: a media type such as text/html, text/* or application/*+json)");
    assertThatThrownBy(() -> Compression.builder().encodings())
        .hasMessage("encodings: [] (expected: at least one encoding)");
    assertThatThrownBy(() -> Compression.builder().encodings(Encoding.GZIP, Encoding.GZIP))
        .hasMessage("encodings: gzip given twice (expected: each once)");
    assertThatThrownBy(() -> Compression.builder().encodings((Encoding) null)).isInstanceOf(NullPointerException.class)
        .hasMessage("encoding");
  }

  @Test
  void defaultsOfferEveryAvailableEncodingInPreferenceOrder() {
    Compression c = Compression.defaults();
    assertThat(c.encodings()).containsExactly(Encoding.ZSTD, Encoding.BROTLI, Encoding.GZIP);
    assertThat(c.level(Encoding.GZIP)).isEqualTo(6);
    assertThat(c.level(Encoding.BROTLI)).isEqualTo(4);
    assertThat(c.level(Encoding.ZSTD)).isEqualTo(3);
  }

  @Test
  void aMissingLibraryIsNamedByItsMavenCoordinates() {
    assertThatThrownBy(() -> dev.gatehouse.proxy.internal.gateway.OptionalLibrary.require("Compression with br",
        "com.example.Missing", "com.aayushatharva.brotli4j:brotli4j"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Compression with br needs com.aayushatharva.brotli4j:brotli4j on the class path (add it as a dependency)");
  }
}
