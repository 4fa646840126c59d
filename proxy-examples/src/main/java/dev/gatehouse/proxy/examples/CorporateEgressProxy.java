package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.DataSize;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.forward.CertificateAuthority;
import dev.gatehouse.proxy.forward.EgressPolicy;
import dev.gatehouse.proxy.forward.ForwardProxy;
import dev.gatehouse.proxy.forward.ForwardProxyBuilder;
import dev.gatehouse.proxy.forward.InterceptionPolicy;
import dev.gatehouse.proxy.forward.ProxyAuthenticator;
import dev.gatehouse.proxy.forward.TlsInterception;
import dev.gatehouse.proxy.forward.UserPolicies;
import dev.gatehouse.proxy.forward.UserPolicy;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

/**
 * Corporate egress: every user signs in with Basic proxy authentication; engineers reach the public
 * internet, everyone else only a few API hosts (403 naming the user's rules otherwise); URL rules refuse
 * some paths, HTTPS included; every request and tunnel is written to a JSON-lines audit log ({@code
 * egress-audit.jsonl}, or {@code AUDIT_LOG}). Plain-HTTP downloads (the Debian package mirrors, as apt
 * fetches them) are cached on disk ({@code egress-cache}, or {@code CACHE_DIR}, 2 GiB) for the whole
 * office, Squid-style; the cache runs after authentication and the egress policy, and what it stored
 * survives a restart. Listens on 3128 (or {@code PORT}) on all interfaces.
 *
 * <p>With {@code MITM_CA_CERT_FILE} and {@code MITM_CA_KEY_FILE} (PEM; the company's interception CA,
 * installed on every client), HTTPS is decrypted so that the URL rules and the audit log see each
 * request, except for the bypass list (pinned apps, private traffic), which stays an opaque tunnel.
 * Without them, HTTPS is audited per tunnel and the URL rules apply to plain HTTP only.
 *
 * <pre>
 * curl -x http://alice:wonderland@127.0.0.1:3128 https://api.github.com/zen
 * curl --cacert ca.pem -x http://build-bot:change-me@127.0.0.1:3128 https://api.github.com/gists   # 403 URL rule
 * curl -sI -x http://alice:wonderland@127.0.0.1:3128 http://deb.debian.org/debian/dists/stable/Release | grep -i cache-status
 * export http_proxy=http://alice:wonderland@127.0.0.1:3128 https_proxy=$http_proxy no_proxy=localhost,127.0.0.1
 * </pre>
 */
public final class CorporateEgressProxy {
  /** Paths nobody may reach: {@code scheme://host/path} prefixes. */
  static final List<String> BLOCKED = List.of(
      "https://api.github.com/gists", // no pasting code into gists
      "https://gist.github.com/",
      "http://example.com/forbidden");

  private CorporateEgressProxy() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "3128"));
    Path audit = Path.of(System.getenv().getOrDefault("AUDIT_LOG", "egress-audit.jsonl"));
    HttpCache downloads = HttpCache.fileStore(Path.of(System.getenv().getOrDefault("CACHE_DIR", "egress-cache")),
        DataSize.ofGiB(2));

    // Who may go where. A real deployment looks the group up in its directory, asynchronously.
    UserPolicy engineers = UserPolicy.of("engineers", EgressPolicy.allowPublic());
    UserPolicy everyoneElse = UserPolicy.of("allow-list", EgressPolicy.denyAll()
        .allowHosts("api.github.com", "gist.github.com", "*.githubusercontent.com", "repo.maven.apache.org",
            "registry.npmjs.org", "deb.debian.org", "security.debian.org"));
    Map<String, String> groups = Map.of("alice", "engineers");
    UserPolicies byGroup = (user, exchange) -> CompletableFuture
        .supplyAsync(() -> groups.getOrDefault(user, "others"), exchange.blockingExecutor())
        .thenApply(group -> group.equals("engineers") ? engineers : everyoneElse);

    Filter urlRules = Filter.named("url rules", (exchange, chain) -> {
      String url = exchange.request().scheme() + "://" + exchange.request().authority() + exchange.request().path();
      for (String prefix : BLOCKED) {
        if (url.startsWith(prefix)) {
          exchange.attribute(AccessLog.POLICY_DECISION, "deny");
          exchange.attribute(AccessLog.POLICY_RULE, "url rule " + prefix);
          return exchange.respond(403, "Forbidden by URL rule: " + prefix + "\n");
        }
      }
      return chain.proceed();
    });

    ForwardProxyBuilder builder = ForwardProxy.builder()
        .host("0.0.0.0")
        .port(port)
        .proxyAuthentication("corp egress", ProxyAuthenticator.users(Map.of(
            "alice", "wonderland",
            "build-bot", System.getenv().getOrDefault("BUILD_BOT_PASSWORD", "change-me"))))
        .userPolicies(byGroup)
        .addFilter(urlRules)
        .accessLog(AccessLog.file(audit, AccessLog.Format.JSON_LINES))
        .cache(downloads);
    String caCert = System.getenv("MITM_CA_CERT_FILE");
    String caKey = System.getenv("MITM_CA_KEY_FILE");
    if (caCert != null && caKey != null) {
      builder.intercept(TlsInterception.builder(CertificateAuthority.fromPem(Path.of(caCert), Path.of(caKey)))
          .policy(InterceptionPolicy.interceptAll()
              // apps that pin their certificates, and traffic the company does not read
              .bypass("*.apple.com", "*.icloud.com", "*.bank.example", "*.health.example"))
          .build());
    }
    ProxyServer proxy = builder.build().start();

    System.out.println("Corporate egress proxy on port " + proxy.port() + ", audit log " + audit.toAbsolutePath()
        + (caCert != null ? ", HTTPS decrypted with " + caCert : ", HTTPS not decrypted (no MITM_CA_CERT_FILE)"));
    System.out.println("  curl -x http://alice:wonderland@127.0.0.1:" + proxy.port() + " https://api.github.com/zen");
    System.out.println("  curl -x http://build-bot:change-me@127.0.0.1:" + proxy.port() + " http://example.com/   # 403");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      downloads.close();
      stop.countDown();
    }));
    stop.await();
  }
}
