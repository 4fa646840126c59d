package dev.gatehouse.proxy.examples;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.access.Cors;
import dev.gatehouse.proxy.access.RequestLimits;
import dev.gatehouse.proxy.auth.ApiKeyAuth;
import dev.gatehouse.proxy.auth.JwtAuth;
import dev.gatehouse.proxy.compress.Compression;
import dev.gatehouse.proxy.headers.HeaderRules;
import dev.gatehouse.proxy.headers.RequestId;
import dev.gatehouse.proxy.ratelimit.Limit;
import dev.gatehouse.proxy.ratelimit.RateLimit;
import dev.gatehouse.proxy.ratelimit.RateLimitKey;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.Route;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;

/**
 * What a Kong user sets up in front of two services, with Gatehouse's gateway filters:
 *
 * <ul>
 *   <li>{@code /api/orders}: JWT bearer tokens checked against the keys an identity provider publishes
 *       (here an embedded issuer that also hands out demo tokens), per-consumer rate limits (10 a minute
 *       and 1000 an hour) whose {@code RateLimit} fields every response shows, methods and
 *       body size limited, the consumer passed upstream as headers;
 *   <li>{@code /partners}: API keys per partner, rate-limited per partner;
 *   <li>everywhere: request ids, CORS for a browser app on {@code http://localhost:3000}, Brotli/gzip
 *       compression, and no {@code Server} header leaking from the services.
 * </ul>
 *
 * The order of the global filters is the recommended one: request id first (every answer carries it),
 * compression next (it sees the final responses), then CORS (preflights are answered before any
 * credentials are asked for); each route then authenticates, limits and shapes its requests.
 */
public final class ApiGatewayExample {
  private ApiGatewayExample() {}

  public static void main(String[] args) throws Exception {
    DemoBackends services = DemoBackends.start("orders-service", "partner-service");
    Issuer issuer = Issuer.start();

    JwtAuth jwt = JwtAuth.builder()
        .jwksUri(issuer.url() + "/.well-known/jwks.json")
        .issuer(issuer.url())
        .audience("orders-api")
        .claimToHeader("sub", "X-Consumer-Id")
        .claimToHeader("plan", "X-Consumer-Plan")
        .build();
    RateLimit perConsumer = RateLimit.builder()
        .name("orders")
        .key(RateLimitKey.principal())
        .limit(Limit.perMinute(10))
        .limit(Limit.perHour(1000).name("hourly"))
        .build();
    RateLimit perPartner = RateLimit.builder()
        .name("partners")
        .key(RateLimitKey.principal())
        .limit(Limit.perMinute(60))
        .build();

    ProxyServer gateway = ReverseProxy.builder()
        .port(Integer.parseInt(System.getenv().getOrDefault("PORT", "8080")))
        .addFilter(RequestId.defaults())
        .addFilter(Compression.builder().minSize(256).build()) // the demo services answer small bodies
        .addFilter(Cors.builder()
            .allowOrigins("http://localhost:3000")
            .allowMethods("GET", "POST", "PUT", "DELETE")
            .allowHeaders("Authorization", "Content-Type", "X-Api-Key")
            .exposeHeaders("X-Request-Id", "RateLimit", "RateLimit-Policy", "Retry-After")
            .allowCredentials(true)
            .maxAge(Duration.ofMinutes(10))
            .build())
        .addFilter(HeaderRules.builder().response(r -> r.remove("Server")).build())
        .addRoute(Route.pathPrefix("/api/orders").name("orders")
            .addFilter(RequestLimits.builder().allowMethods("GET", "POST").maxBodySize(64 * 1024).build())
            .addFilter(jwt)
            .addFilter(perConsumer)
            .addFilter(HeaderRules.builder().request(r -> r.set("X-Gateway-Route", "${route}")).build())
            .to(services.url(0)))
        .addRoute(Route.pathPrefix("/partners").name("partners")
            .addFilter(ApiKeyAuth.builder()
                .consumer("acme", "acme-demo-key")
                .consumer("globex", "globex-demo-key")
                .build())
            .addFilter(perPartner)
            .addFilter(HeaderRules.builder().request(r -> r.set("X-Partner", "${principal}")).build())
            .to(services.url(1)))
        .build()
        .start();

    String base = "http://127.0.0.1:" + gateway.port();
    System.out.println("ApiGatewayExample on " + base + " (issuer on " + issuer.url() + ")");
    System.out.println("  TOKEN=$(curl -s '" + issuer.url() + "/token?sub=alice&plan=gold')");
    System.out.println("  curl -i -H \"Authorization: Bearer $TOKEN\" " + base + "/api/orders/42      # RateLimit fields, X-Request-Id");
    System.out.println("  curl -i " + base + "/api/orders/42                                        # 401, WWW-Authenticate: Bearer");
    System.out.println("  for i in $(seq 12); do curl -s -o /dev/null -w '%{http_code} ' -H \"Authorization: Bearer $TOKEN\" "
        + base + "/api/orders; done   # 10 x 200, then 429 (a minute's worth)");
    System.out.println("  curl -i -H 'X-Api-Key: acme-demo-key' " + base + "/partners/catalog");
    System.out.println("  curl -i -X OPTIONS -H 'Origin: http://localhost:3000' -H 'Access-Control-Request-Method: POST' "
        + "-H 'Access-Control-Request-Headers: authorization,content-type' " + base + "/api/orders   # preflight, 204");
    System.out.println("  curl -s -H 'Accept-Encoding: br' -H \"Authorization: Bearer $TOKEN\" " + base
        + "/api/orders/42 -o /dev/null -w '%{size_download} bytes (br)\\n'   # compare without the Accept-Encoding");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      gateway.close();
      issuer.close();
      services.close();
      stop.countDown();
    }));
    stop.await();
  }

  /**
   * A stand-in identity provider: publishes its signing key at {@code /.well-known/jwks.json} and
   * signs demo tokens at {@code /token?sub=...&plan=...} (valid 15 minutes). A real one (Keycloak,
   * Auth0, Entra ID, ...) publishes a JWKS URL the same way.
   */
  static final class Issuer implements AutoCloseable {
    private final HttpServer server;
    private final RSAKey key;

    private Issuer(HttpServer server, RSAKey key) {
      this.server = server;
      this.key = key;
    }

    static Issuer start() throws IOException, JOSEException {
      RSAKey key = new RSAKeyGenerator(2048).keyID(UUID.randomUUID().toString()).generate();
      HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
      Issuer issuer = new Issuer(server, key);
      server.createContext("/.well-known/jwks.json", x ->
          send(x, "application/json", new JWKSet(key.toPublicJWK()).toString()));
      server.createContext("/token", issuer::token);
      server.start();
      return issuer;
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void token(HttpExchange x) throws IOException {
      String sub = "demo";
      String plan = "free";
      String query = x.getRequestURI().getQuery();
      if (query != null) {
        for (String pair : query.split("&")) {
          String[] kv = pair.split("=", 2);
          if (kv.length == 2 && kv[1].matches("[A-Za-z0-9._-]{1,64}")) {
            if (kv[0].equals("sub")) {
              sub = kv[1];
            } else if (kv[0].equals("plan")) {
              plan = kv[1];
            }
          }
        }
      }
      Instant now = Instant.now();
      try {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
            new JWTClaimsSet.Builder().issuer(url()).audience("orders-api").subject(sub).claim("plan", plan)
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(900))).build());
        jwt.sign(new RSASSASigner(key));
        send(x, "text/plain", jwt.serialize());
      } catch (JOSEException e) {
        x.sendResponseHeaders(500, -1);
        x.close();
      }
    }

    private static void send(HttpExchange x, String type, String body) throws IOException {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      x.getResponseHeaders().set("Content-Type", type);
      x.sendResponseHeaders(200, bytes.length);
      try (OutputStream out = x.getResponseBody()) {
        out.write(bytes);
      }
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }
}
