package dev.gatehouse.proxy.cache;

import static dev.gatehouse.proxy.cache.Origin.Reply;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A response meant for one user is never served to another (RFC 9111 §3, §3.5; Set-Cookie). */
@Timeout(30)
class CacheSafetyTest {

  private static HttpCache cache() {
    return HttpCache.inMemory(DataSize.ofMiB(16));
  }

  /** The origin answers each user with their own page, with the given caching fields. */
  private static Origin perUser(String... fields) throws Exception {
    return new Origin(r -> {
      String user = r.header("authorization") != null ? r.header("authorization") : r.header("cookie");
      return Reply.of(200, "page of " + user, fields);
    });
  }

  @Test
  void authorizedResponseWithoutPublicIsNotServedToAnotherUser() throws Exception {
    try (Origin origin = perUser("Cache-Control", "max-age=60");
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response alice = Proxies.get(proxy, "/me", "Authorization: Bearer alice");
      RawHttp.Response bob = Proxies.get(proxy, "/me", "Authorization: Bearer bob");
      RawHttp.Response anonymous = Proxies.get(proxy, "/me");

      assertThat(alice.bodyText()).isEqualTo("page of Bearer alice");
      assertThat(alice.header("cache-status")).isEqualTo("gatehouse; fwd=uri-miss; fwd-status=200; detail=authorization");
      assertThat(bob.bodyText()).isEqualTo("page of Bearer bob");
      assertThat(anonymous.bodyText()).isEqualTo("page of null");
      assertThat(origin.requests()).isEqualTo(3);
    }
  }

  @Test
  void privateResponseIsNeverStored() throws Exception {
    try (Origin origin = perUser("Cache-Control", "private, max-age=60");
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/me", "Cookie: user=alice");
      RawHttp.Response bob = Proxies.get(proxy, "/me", "Cookie: user=bob");

      assertThat(bob.bodyText()).isEqualTo("page of user=bob");
      assertThat(origin.requests()).isEqualTo(2);
      assertThat(cache.stats().entries()).isZero();
    }
  }

  @Test
  void responseSettingACookieIsNotStoredByDefault() throws Exception {
    try (Origin origin = perUser("Cache-Control", "public, max-age=60", "Set-Cookie", "session=abc123");
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response first = Proxies.get(proxy, "/login");
      RawHttp.Response second = Proxies.get(proxy, "/login");

      assertThat(first.header("set-cookie")).isEqualTo("session=abc123");
      assertThat(first.header("cache-status")).endsWith("detail=set-cookie");
      assertThat(origin.requests()).isEqualTo(2);
      assertThat(second.header("cache-status")).doesNotContain("hit");
    }
  }

  @Test
  void whenAllowedAResponseWithACookieIsStoredWithoutTheCookie() throws Exception {
    try (Origin origin = perUser("Cache-Control", "public, max-age=60", "Set-Cookie", "session=abc123");
         HttpCache cache = HttpCache.builder(CacheStore.inMemory(DataSize.ofMiB(1))).storeResponsesWithSetCookie(true).build();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response first = Proxies.get(proxy, "/home");
      RawHttp.Response second = Proxies.get(proxy, "/home");

      assertThat(first.header("set-cookie")).isEqualTo("session=abc123");
      assertThat(second.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(second.header("set-cookie")).isNull();
      assertThat(origin.requests()).isEqualTo(1);
    }
  }

  @Test
  void publicAuthorizedResponseMayBeShared() throws Exception {
    try (Origin origin = perUser("Cache-Control", "public, max-age=60");
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      Proxies.get(proxy, "/doc", "Authorization: Bearer alice");
      RawHttp.Response bob = Proxies.get(proxy, "/doc", "Authorization: Bearer bob");

      assertThat(bob.bodyText()).isEqualTo("page of Bearer alice"); // the origin said it is the same for everyone
      assertThat(origin.requests()).isEqualTo(1);
    }
  }

  @Test
  void privateFieldsAreDroppedFromTheStoredCopy() throws Exception {
    try (Origin origin = new Origin(r -> Reply.of(200, "shared", "Cache-Control", "max-age=60, private=\"X-User\"",
            "X-User", "alice"));
         HttpCache cache = cache();
         ProxyServer proxy = Proxies.start(origin, cache)) {
      RawHttp.Response first = Proxies.get(proxy, "/a");
      RawHttp.Response second = Proxies.get(proxy, "/a");

      assertThat(first.header("x-user")).isEqualTo("alice");
      assertThat(second.header("x-user")).isNull();
      assertThat(second.bodyText()).isEqualTo("shared");
    }
  }

  @Test
  void headerFieldsCannotBeInjectedThroughAStoredResponse() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> StoredResponse.builder("k", 200).header("X-A", "a\r\nX-B: b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("header X-A: value contains CR, LF or NUL (expected: visible characters, space and tab)");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> StoredResponse.builder("k", 200).header("X A", "a"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("header name: \"X A\" (expected: an RFC 9110 token)");
  }
}
