package dev.gatehouse.proxy.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.cache.StoredResponse;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a shared cache may store (RFC 9111 §3, §3.5, §5.2.2) and in which form. */
class StorabilityTest {
  private static final Instant T = Instant.parse("2024-06-01T12:00:00Z");

  private static Storability.Candidate candidate(CacheRequest req, int status, String... nameValues) {
    return Storability.of(req, status, TestSettings.map(nameValues), T, T, TestSettings.defaults());
  }

  private static String refusal(CacheRequest req, int status, String... nameValues) {
    return candidate(req, status, nameValues).refusal();
  }

  @Test
  void explicitFreshnessIsStored() {
    assertThat(refusal(TestSettings.get(), 200, "Cache-Control", "max-age=60")).isNull();
    assertThat(refusal(TestSettings.get(), 404, "Expires", "Sat, 01 Jun 2024 13:00:00 GMT")).isNull();
    assertThat(refusal(TestSettings.get(), 500, "Cache-Control", "s-maxage=5")).isNull();
  }

  @Test
  void noStoreAndPrivateAreNeverStored() {
    assertThat(refusal(TestSettings.get(), 200, "Cache-Control", "max-age=60, no-store")).isEqualTo("no-store");
    assertThat(refusal(TestSettings.get(), 200, "Cache-Control", "max-age=60, private")).isEqualTo("private");
    assertThat(refusal(TestSettings.get("Cache-Control", "no-store"), 200, "Cache-Control", "max-age=60"))
        .isEqualTo("request-no-store");
  }

  @Test
  void mustUnderstandOverridesNoStoreForAnUnderstoodStatus() {
    assertThat(refusal(TestSettings.get(), 200, "Cache-Control", "max-age=60, no-store, must-understand")).isNull();
  }

  @Test
  void authorizedRequestsOnlyWhenTheResponseAllowsIt() {
    CacheRequest auth = TestSettings.get("Authorization", "Bearer alice");
    assertThat(refusal(auth, 200, "Cache-Control", "max-age=60")).isEqualTo("authorization");
    assertThat(refusal(auth, 200, "Cache-Control", "max-age=60, public")).isNull();
    assertThat(refusal(auth, 200, "Cache-Control", "s-maxage=60")).isNull();
    assertThat(refusal(auth, 200, "Cache-Control", "max-age=60, must-revalidate")).isNull();
  }

  @Test
  void setCookieIsNotStoredUnlessAllowedAndThenWithoutTheCookie() {
    assertThat(refusal(TestSettings.get(), 200, "Cache-Control", "max-age=60", "Set-Cookie", "sid=1")).isEqualTo("set-cookie");
    Storability.Candidate c = Storability.of(TestSettings.get(), 200,
        TestSettings.map("Cache-Control", "max-age=60", "Set-Cookie", "sid=1"), T, T, TestSettings.withSetCookie());
    assertThat(c.refusal()).isNull();
    assertThat(c.response().header("Set-Cookie")).isEmpty();
  }

  @Test
  void varyStarPartialAndUnknownStatusesAreNotStored() {
    assertThat(refusal(TestSettings.get(), 200, "Cache-Control", "max-age=60", "Vary", "*")).isEqualTo("vary-star");
    assertThat(refusal(TestSettings.get(), 206, "Cache-Control", "max-age=60")).isEqualTo("partial");
    assertThat(refusal(TestSettings.get(), 299, "Cache-Control", "max-age=60")).isEqualTo("status");
  }

  @Test
  void nothingToGoOnIsNotStored() {
    // 302 is not heuristically cacheable and says nothing
    assertThat(refusal(TestSettings.get(), 302)).isEqualTo("no-freshness");
    // 200 may be stored heuristically, but without freshness it would only cost
    assertThat(refusal(TestSettings.get(), 200)).isEqualTo("no-freshness");
    // nor is a plain response that merely has a validator: every request would become a revalidation
    assertThat(refusal(TestSettings.get(), 200, "ETag", "\"v1\"")).isEqualTo("no-freshness");
    assertThat(refusal(TestSettings.get(), 200, "Cache-Control", "max-age=0", "ETag", "\"v1\"")).isNull();
    assertThat(refusal(TestSettings.get(), 200, "Cache-Control", "max-age=0")).isEqualTo("no-freshness");
    // no-cache with a validator: stored, revalidated before every use
    assertThat(refusal(TestSettings.get(), 200, "Cache-Control", "no-cache", "ETag", "\"v1\"")).isNull();
    // with a use-stale switch even a response without validators is worth keeping
    Storability.Candidate c = Storability.of(TestSettings.get(), 200, TestSettings.map("Cache-Control", "max-age=0"),
        T, T, TestSettings.withUseStale());
    assertThat(c.refusal()).isNull();
  }

  @Test
  void tooLargeByContentLength() {
    assertThat(refusal(TestSettings.get(), 200, "Cache-Control", "max-age=60", "Content-Length", "999999999"))
        .isEqualTo("too-large");
  }

  @Test
  void storedFormDropsHopByHopAndNamedFieldsAndKeepsTags() {
    Storability.Candidate c = candidate(TestSettings.get(), 200,
        "Cache-Control", "max-age=60, private=\"X-User\", no-cache=\"X-Secret\"",
        "Connection", "X-Hop", "X-Hop", "1", "Keep-Alive", "timeout=5", "Content-Length", "3",
        "X-User", "alice", "X-Secret", "s3", "Surrogate-Key", "product-42  catalog", "Age", "7", "X-Keep", "yes");
    StoredResponse r = c.response();
    assertThat(c.refusal()).isNull();
    assertThat(r.headers()).extracting(Map.Entry::getKey)
        .containsExactlyInAnyOrder("Cache-Control", "X-Keep", "Date");
    assertThat(r.header("Date")).contains("Sat, 01 Jun 2024 12:00:00 GMT");
    assertThat(r.tags()).containsExactly("product-42", "catalog");
    assertThat(r.bodyLength()).isEqualTo(3);
    assertThat(r.initialAge().getSeconds()).isEqualTo(7);
  }

  @Test
  void variantComesFromTheRequestFieldsVaryNames() {
    StoredResponse r = candidate(TestSettings.get("Accept-Encoding", "gzip"), 200,
        "Cache-Control", "max-age=60", "Vary", "Accept-Encoding").response();
    assertThat(r.variant()).isEqualTo("accept-encoding:gzip\n");
  }

  @Test
  void notModifiedRefreshesTheStoredFieldsButNotTheBodyFraming() {
    StoredResponse stored = candidate(TestSettings.get(), 200, "Cache-Control", "max-age=60", "ETag", "\"v1\"",
        "X-Old", "1", "Date", "Sat, 01 Jun 2024 11:00:00 GMT").response().toBuilder().bodyLength(10).storageId("7").build();
    Instant later = T.plusSeconds(3600);
    StoredResponse r = Storability.refreshed(stored, TestSettings.map("Cache-Control", "max-age=120",
        "Content-Length", "0", "X-New", "2", "Date", "Sat, 01 Jun 2024 13:00:00 GMT"), later, later, TestSettings.defaults());
    assertThat(r.header("Cache-Control")).contains("max-age=120");
    assertThat(r.header("X-Old")).contains("1");
    assertThat(r.header("X-New")).contains("2");
    assertThat(r.headerValues("Date")).containsExactly("Sat, 01 Jun 2024 13:00:00 GMT");
    assertThat(r.header("Content-Length")).isEmpty();
    assertThat(r.bodyLength()).isEqualTo(10);
    assertThat(r.storageId()).isEqualTo("7");
    assertThat(r.responseTime()).isEqualTo(later);
  }
}
