package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The forward proxy caches plain HTTP, after authentication and the egress policy. */
@Timeout(30)
class ForwardCacheTest {

  private static RawUpstream origin(AtomicInteger count) throws Exception {
    return RawUpstream.start(c -> {
      RawUpstream.Request r;
      while ((r = c.readRequest()) != null) {
        String body = "n=" + count.incrementAndGet();
        c.write("HTTP/1.1 200 OK\r\nCache-Control: public, max-age=600\r\nContent-Length: " + body.length()
            + "\r\n\r\n" + body);
      }
    });
  }

  private static RawHttp.Response get(ProxyServer proxy, String url, String... headers) throws Exception {
    StringBuilder sb = new StringBuilder("GET " + url + " HTTP/1.1\r\nHost: " + url.split("/")[2] + "\r\n");
    for (String h : headers) {
      sb.append(h).append("\r\n");
    }
    return RawHttp.exchange(proxy.port(), sb.append("\r\n").toString());
  }

  @Test
  void plainHttpResponsesAreCachedByAbsoluteUri() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (RawUpstream up = origin(n);
         HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port())).cache(cache))) {
      String url = "http://127.0.0.1:" + up.port() + "/file.iso";
      RawHttp.Response first = get(proxy, url);
      RawHttp.Response hit = get(proxy, url);
      long purged = cache.purge(java.net.URI.create(url)).toCompletableFuture().join();

      assertThat(first.bodyText()).isEqualTo("n=1");
      assertThat(hit.bodyText()).isEqualTo("n=1");
      assertThat(hit.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(up.requests).hasSize(1);
      assertThat(purged).isEqualTo(1);
    }
  }

  @Test
  void egressPolicyIsDecidedBeforeTheCacheSoADeniedHostIsNeverServedFromIt() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (RawUpstream up = origin(n);
         HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1))) {
      AtomicReference<EgressPolicy> policy = new AtomicReference<>(Fwd.allowLoopback(up.port()));
      try (ProxyServer proxy = Fwd.start(Fwd.builder().egress(policy::get).cache(cache))) {
        String url = "http://127.0.0.1:" + up.port() + "/a";
        get(proxy, url);
        policy.set(EgressPolicy.allowPublic());
        RawHttp.Response denied = get(proxy, url);

        assertThat(denied.status).isEqualTo(403);
        assertThat(up.requests).hasSize(1);
      }
    }
  }

  @Test
  void proxyAuthenticationComesBeforeTheCache() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (RawUpstream up = origin(n);
         HttpCache cache = HttpCache.inMemory(DataSize.ofMiB(1));
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port())).cache(cache)
             .proxyAuthentication("corp", ProxyAuthenticator.users(Map.of("alice", "pw"))))) {
      String url = "http://127.0.0.1:" + up.port() + "/a";
      RawHttp.Response alice = get(proxy, url, "Proxy-Authorization: Basic YWxpY2U6cHc=");
      RawHttp.Response stranger = get(proxy, url);
      RawHttp.Response aliceAgain = get(proxy, url, "Proxy-Authorization: Basic YWxpY2U6cHc=");

      assertThat(alice.status).isEqualTo(200);
      assertThat(stranger.status).isEqualTo(407);
      assertThat(aliceAgain.header("cache-status")).startsWith("gatehouse; hit");
      assertThat(up.requests).hasSize(1);
    }
  }
}
