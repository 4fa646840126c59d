package dev.gatehouse.proxy.cache;

import static dev.gatehouse.proxy.cache.Origin.Reply;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Storing and serving: hits, Age, Cache-Status, HEAD from GET, conditionals, ranges. */
@Timeout(30)
class CacheBasicsTest {
  private final TestClock clock = new TestClock();

  private HttpCache cache() {
    return HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(16))).clock(clock).build();
  }

  @Test
  void freshResponseIsServedFromTheCacheWithAgeAndCacheStatus() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "hello", "Cache-Control", "max-age=60", "Date", clock.httpDate(),
            "ETag", "\"v1\""));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response first = Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(10));
      RawHttp.Response second = Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(1);
      assertThat(first.status).isEqualTo(200);
      assertThat(first.bodyText()).isEqualTo("hello");
      assertThat(first.header("cache-status")).isEqualTo("gatehouse; fwd=uri-miss; fwd-status=200; stored; ttl=60");
      assertThat(first.header("age")).isNull();
      assertThat(second.status).isEqualTo(200);
      assertThat(second.bodyText()).isEqualTo("hello");
      assertThat(second.header("content-length")).isEqualTo("5");
      assertThat(second.header("age")).isEqualTo("10");
      assertThat(second.header("etag")).isEqualTo("\"v1\"");
      assertThat(second.header("cache-status")).isEqualTo("gatehouse; hit; ttl=50");
      assertThat(second.header("via")).isEqualTo("1.1 gatehouse");
      assertThat(cache.stats().hits()).isEqualTo(1);
      assertThat(cache.stats().misses()).isEqualTo(1);
      assertThat(cache.stats().entries()).isEqualTo(1);
    }
  }

  @Test
  void staleResponseWithoutValidatorsIsFetchedAgain() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "v", "Cache-Control", "max-age=60"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      clock.advance(Duration.ofSeconds(61));
      RawHttp.Response r = Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(2);
      assertThat(origin.last().header("if-none-match")).isNull();
      assertThat(r.header("cache-status")).startsWith("gatehouse; fwd=stale; fwd-status=200; stored");
    }
  }

  @Test
  void responsesThatMayNotBeStoredAreFetchedEveryTime() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "v", "Cache-Control", "no-store"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response first = Proxies.get(proxy, "/a");
      Proxies.get(proxy, "/a");

      assertThat(origin.requests()).isEqualTo(2);
      assertThat(first.header("cache-status")).isEqualTo("gatehouse; fwd=uri-miss; fwd-status=200; detail=no-store");
      assertThat(cache.stats().entries()).isZero();
    }
  }

  @Test
  void headIsAnsweredFromAStoredGetAndAHeadMissFillsTheCache() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "hello world", "Cache-Control", "max-age=60"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response head = Proxies.request(proxy, "HEAD", "/a");
      RawHttp.Response get = Proxies.get(proxy, "/a");
      RawHttp.Response head2 = Proxies.request(proxy, "HEAD", "/a");

      assertThat(origin.requests()).isEqualTo(1);
      assertThat(origin.last().requestLine).startsWith("GET /a ");
      assertThat(head.status).isEqualTo(200);
      assertThat(head.header("content-length")).isEqualTo("11");
      assertThat(get.bodyText()).isEqualTo("hello world");
      assertThat(head2.header("content-length")).isEqualTo("11");
      assertThat(head2.header("cache-status")).startsWith("gatehouse; hit");
    }
  }

  @Test
  void clientConditionalsAreAnsweredFromTheCache() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "body", "Cache-Control", "max-age=60", "ETag", "W/\"v1\"",
            "Last-Modified", "Sat, 01 Jun 2024 10:00:00 GMT", "Content-Type", "text/plain"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      RawHttp.Response inm = Proxies.get(proxy, "/a", "If-None-Match: \"v0\", \"v1\"");
      RawHttp.Response ims = Proxies.get(proxy, "/a", "If-Modified-Since: Sat, 01 Jun 2024 11:00:00 GMT");
      RawHttp.Response changed = Proxies.get(proxy, "/a", "If-Modified-Since: Sat, 01 Jun 2024 09:00:00 GMT");
      RawHttp.Response other = Proxies.get(proxy, "/a", "If-None-Match: \"v2\"");

      assertThat(origin.requests()).isEqualTo(1);
      assertThat(inm.status).isEqualTo(304);
      assertThat(inm.header("etag")).isEqualTo("W/\"v1\"");
      assertThat(inm.header("content-type")).isNull();
      assertThat(inm.header("content-length")).isNull();
      assertThat(ims.status).isEqualTo(304);
      assertThat(changed.status).isEqualTo(200);
      assertThat(changed.bodyText()).isEqualTo("body");
      assertThat(other.status).isEqualTo(200);
    }
  }

  @Test
  void rangesAreServedFromAStoredWholeResponse() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "0123456789", "Cache-Control", "max-age=60", "ETag", "\"s\""));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/a");
      RawHttp.Response part = Proxies.get(proxy, "/a", "Range: bytes=2-5");
      RawHttp.Response suffix = Proxies.get(proxy, "/a", "Range: bytes=-3");
      RawHttp.Response beyond = Proxies.get(proxy, "/a", "Range: bytes=10-");
      RawHttp.Response ifRangeOld = Proxies.get(proxy, "/a", "Range: bytes=0-1", "If-Range: \"old\"");
      RawHttp.Response several = Proxies.get(proxy, "/a", "Range: bytes=0-1,4-5");

      assertThat(origin.requests()).isEqualTo(1);
      assertThat(part.status).isEqualTo(206);
      assertThat(part.bodyText()).isEqualTo("2345");
      assertThat(part.header("content-range")).isEqualTo("bytes 2-5/10");
      assertThat(part.header("content-length")).isEqualTo("4");
      assertThat(suffix.status).isEqualTo(206);
      assertThat(suffix.bodyText()).isEqualTo("789");
      assertThat(beyond.status).isEqualTo(416);
      assertThat(beyond.header("content-range")).isEqualTo("bytes */10");
      assertThat(ifRangeOld.status).isEqualTo(200);
      assertThat(ifRangeOld.bodyText()).isEqualTo("0123456789");
      assertThat(several.status).isEqualTo(200);
    }
  }

  @Test
  void partialResponsesFromTheUpstreamPassThroughUnstored() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(206, "23", "Cache-Control", "max-age=60", "Content-Range", "bytes 2-3/10"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response a = Proxies.get(proxy, "/a", "Range: bytes=2-3");
      RawHttp.Response b = Proxies.get(proxy, "/a", "Range: bytes=2-3");

      assertThat(origin.requests()).isEqualTo(2);
      assertThat(a.status).isEqualTo(206);
      assertThat(b.bodyText()).isEqualTo("23");
      assertThat(origin.last().header("range")).isEqualTo("bytes=2-3");
      assertThat(cache.stats().entries()).isZero();
    }
  }

  @Test
  void largeHitIsWrittenWholeWithBackPressure() throws Exception {
    // larger than the socket buffers on loopback, so the client's pace decides; read as it comes (small heaps)
    int size = 12 * 1024 * 1024;
    byte[] big = new byte[size];
    new java.util.Random(42).nextBytes(big);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(big);
    long expected = crc.getValue();
    Origin.Reply reply = Origin.Reply.raw("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: "
        + size + "\r\n\r\n", big);
    big = null;
    try (Origin origin = new Origin(r -> reply);
         HttpCache cache = HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(32))).maxObjectSize(DataSize.ofMiB(16))
             .clock(clock).build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      assertThat(streamedCrc(proxy, size)).as("the miss's body").isEqualTo(expected);
      assertThat(streamedCrc(proxy, size)).as("the hit's body").isEqualTo(expected);
      assertThat(cache.stats().hits()).isEqualTo(1);
      assertThat(origin.requests()).isEqualTo(1);
    }
  }

  /** GETs /big and returns the CRC of a body of exactly {@code size} bytes, read as it streams. */
  private static long streamedCrc(ProxyServer proxy, int size) throws Exception {
    try (RawHttp c = RawHttp.connect(proxy.port())) {
      c.send("GET /big HTTP/1.1\r\nHost: example.com\r\n\r\n");
      java.io.InputStream in = c.input();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          throw new AssertionError("closed in the head: " + head);
        }
        head.append((char) b);
      }
      assertThat(head.toString()).startsWith("HTTP/1.1 200").contains("Content-Length: " + size);
      java.util.zip.CRC32 crc = new java.util.zip.CRC32();
      byte[] buf = new byte[64 * 1024];
      int left = size;
      while (left > 0) {
        int n = in.read(buf, 0, Math.min(buf.length, left));
        if (n < 0) {
          throw new AssertionError("truncated: " + left + " bytes missing");
        }
        crc.update(buf, 0, n);
        left -= n;
      }
      return crc.getValue();
    }
  }
}
