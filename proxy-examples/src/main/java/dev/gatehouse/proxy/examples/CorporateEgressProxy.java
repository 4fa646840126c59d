package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.forward.EgressPolicy;
import dev.gatehouse.proxy.forward.ForwardProxy;
import dev.gatehouse.proxy.forward.ProxyAuthenticator;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Corporate egress: only a few API hosts are reachable, everything else is refused (403 naming the
 * rule); every user signs in with Basic proxy authentication; every request and tunnel is written to a
 * JSON-lines audit log ({@code egress-audit.jsonl}, or {@code AUDIT_LOG}). Plain-HTTP downloads (the
 * Debian package mirrors, as apt fetches them) are cached on disk ({@code egress-cache}, or {@code
 * CACHE_DIR}, 2 GiB) for the whole office, Squid-style; the cache runs after authentication and the
 * egress policy, and what it stored survives a restart. HTTPS tunnels stay opaque. Listens on 3128
 * (or {@code PORT}) on all interfaces.
 *
 * <pre>
 * curl -x http://alice:wonderland@127.0.0.1:3128 https://api.github.com/zen
 * curl -sI -x http://alice:wonderland@127.0.0.1:3128 http://deb.debian.org/debian/dists/stable/Release | grep -i cache-status
 * export http_proxy=http://alice:wonderland@127.0.0.1:3128 https_proxy=$http_proxy no_proxy=localhost,127.0.0.1
 * </pre>
 */
public final class CorporateEgressProxy {
  private CorporateEgressProxy() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "3128"));
    Path audit = Path.of(System.getenv().getOrDefault("AUDIT_LOG", "egress-audit.jsonl"));
    HttpCache downloads = HttpCache.fileStore(Path.of(System.getenv().getOrDefault("CACHE_DIR", "egress-cache")),
        DataSize.ofGiB(2));

    ProxyServer proxy = ForwardProxy.builder()
        .host("0.0.0.0")
        .port(port)
        .egress(EgressPolicy.denyAll()
            .allowHosts("api.github.com", "*.githubusercontent.com", "repo.maven.apache.org", "registry.npmjs.org",
                "deb.debian.org", "security.debian.org"))
        .proxyAuthentication("corp egress", ProxyAuthenticator.users(Map.of(
            "alice", "wonderland",
            "build-bot", System.getenv().getOrDefault("BUILD_BOT_PASSWORD", "change-me"))))
        .accessLog(AccessLog.file(audit, AccessLog.Format.JSON_LINES))
        .cache(downloads)
        .build()
        .start();

    System.out.println("Corporate egress proxy on port " + proxy.port() + ", audit log " + audit.toAbsolutePath());
    System.out.println("  curl -x http://alice:wonderland@127.0.0.1:" + proxy.port() + " https://api.github.com/zen");
    System.out.println("  curl -x http://alice:wonderland@127.0.0.1:" + proxy.port() + " http://example.com/   # 403");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      downloads.close();
      stop.countDown();
    }));
    stop.await();
  }
}
