package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.Route;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;

/**
 * Three filters: a request id on both legs, an API-key check that short-circuits, and a blocking
 * lookup moved off the I/O thread with {@code exchange.blockingExecutor()}.
 *
 * <pre>
 * curl -i localhost:8080/orders                            # 401, the backend is never called
 * curl -i -H 'X-Api-Key: k-alice' localhost:8080/orders    # 200, the backend sees X-Request-Id and X-User
 * </pre>
 */
public final class CustomFilterExample {
  static final AttributeKey<String> USER = AttributeKey.of("user");

  private CustomFilterExample() {}

  /** Adds {@code X-Request-Id} to the request (unless present) and echoes it in the response. */
  static final class RequestIdFilter implements Filter {
    @Override
    public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
      String id = exchange.request().headers().get("X-Request-Id").orElseGet(() -> UUID.randomUUID().toString());
      exchange.request().headers().set("X-Request-Id", id);
      return chain.proceed().thenApply(response -> {
        response.headers().set("X-Request-Id", id);
        return response;
      });
    }

    @Override
    public String toString() {
      return "RequestIdFilter";
    }
  }

  /** Answers 401 itself when the key is missing: the upstream is never contacted. */
  static final Filter API_KEY = Filter.named("ApiKeyFilter", (exchange, chain) ->
      exchange.request().headers().contains("X-Api-Key")
          ? chain.proceed()
          : exchange.respond(401, "missing X-Api-Key\n"));

  /** Stands in for a database: a key file read from disk on every lookup, which blocks. */
  static final Path KEY_FILE = writeKeyFile();

  private static Path writeKeyFile() {
    try {
      Path f = Files.createTempFile("gatehouse-api-keys", ".properties");
      f.toFile().deleteOnExit();
      Files.writeString(f, "k-alice=alice\nk-bob=bob\n");
      return f;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Blocking file I/O, like a JDBC call would be: it must not run on an I/O thread. */
  static String blockingLookup(String key) {
    Properties keys = new Properties();
    try (Reader r = Files.newBufferedReader(KEY_FILE)) {
      keys.load(r);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return keys.getProperty(key);
  }

  /** Looks the key up on the blocking executor; the chain continues on the I/O thread by itself. */
  static final Filter USER_LOOKUP = Filter.named("UserLookupFilter", (exchange, chain) -> {
    String key = exchange.request().headers().get("X-Api-Key").orElse("");
    return CompletableFuture
        .supplyAsync(() -> blockingLookup(key), exchange.blockingExecutor())
        .thenCompose(user -> {
          if (user == null) {
            return exchange.respond(403, "unknown key\n");
          }
          exchange.attribute(USER, user);
          exchange.request().headers().set("X-User", user);
          return chain.proceed();
        });
  });

  public static void main(String[] args) throws Exception {
    DemoBackends backend = DemoBackends.start("orders");
    ProxyServer proxy = ReverseProxy.builder()
        .port(Integer.parseInt(System.getenv().getOrDefault("PORT", "8080")))
        .addFilter(new RequestIdFilter())
        .addFilter(API_KEY)
        .addFilter(USER_LOOKUP)
        .addRoute(Route.any().to(backend.url(0)))
        .build()
        .start();
    System.out.println("CustomFilterExample on http://127.0.0.1:" + proxy.port());
    System.out.println("  curl -i http://127.0.0.1:" + proxy.port() + "/orders");
    System.out.println("  curl -i -H 'X-Api-Key: k-alice' http://127.0.0.1:" + proxy.port() + "/orders");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      backend.close();
      stop.countDown();
    }));
    stop.await();
  }
}
