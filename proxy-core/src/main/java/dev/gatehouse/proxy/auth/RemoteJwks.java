package dev.gatehouse.proxy.auth;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A JWK Set fetched from a URL with the JDK's asynchronous HTTP client, so no I/O thread ever waits on
 * the key server. One fetch at a time; fetches start no more often than {@code minInterval} (a flood of
 * tokens with unknown key ids cannot hammer the key server); a failed fetch keeps the keys already held.
 */
final class RemoteJwks {
  private static final Logger log = LoggerFactory.getLogger(RemoteJwks.class);
  static final int MAX_BYTES = 1024 * 1024;

  private final URI uri;
  private final HttpClient client;
  private final Duration fetchTimeout;
  private final long refreshMillis;
  private final long minIntervalMillis;
  private final InstantSource clock;
  private final Runnable onChange;
  private final AtomicReference<CompletableFuture<KeySet>> inflight = new AtomicReference<>();
  private volatile KeySet current;
  private volatile String currentJson;
  private volatile long fetchedAtMillis;
  private volatile long lastAttemptMillis;
  private volatile boolean attempted;

  RemoteJwks(URI uri, HttpClient client, Duration fetchTimeout, Duration refresh, Duration minInterval,
      InstantSource clock, Runnable onChange) {
    this.uri = uri;
    this.client = client;
    this.fetchTimeout = fetchTimeout;
    this.refreshMillis = refresh.toMillis();
    this.minIntervalMillis = minInterval.toMillis();
    this.clock = clock;
    this.onChange = onChange;
  }

  /** The keys held now, or null before the first successful fetch; starts a refresh when they are old. */
  KeySet current() {
    KeySet ks = current;
    if (ks != null && clock.millis() - fetchedAtMillis >= refreshMillis) {
      refresh();
    }
    return ks;
  }

  /**
   * Starts a fetch unless one is running (then returns that one) or the last one started less than the
   * minimum interval ago (then returns null).
   */
  CompletableFuture<KeySet> refresh() {
    CompletableFuture<KeySet> running = inflight.get();
    if (running != null) {
      return running;
    }
    long now = clock.millis();
    if (attempted && now - lastAttemptMillis < minIntervalMillis) {
      return null;
    }
    CompletableFuture<KeySet> mine = new CompletableFuture<>();
    if (!inflight.compareAndSet(null, mine)) {
      return inflight.get();
    }
    attempted = true;
    lastAttemptMillis = now;
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(fetchTimeout).header("Accept", "application/json")
        .GET().build();
    CompletableFuture<HttpResponse<byte[]>> sent;
    try {
      sent = client.sendAsync(request, info -> new LimitedBody(MAX_BYTES));
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    sent.orTimeout(fetchTimeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((response, error) -> {
      try {
        if (error != null) {
          throw error;
        }
        if (response.statusCode() != 200) {
          throw new IOException("status " + response.statusCode());
        }
        String json = new String(response.body(), StandardCharsets.UTF_8);
        KeySet ks;
        if (json.equals(currentJson)) {
          ks = current;
        } else {
          ks = KeySet.parse(json, uri.toString());
          if (ks.isEmpty()) {
            throw new IOException("no usable signature key in the set");
          }
          boolean changed = current != null;
          current = ks;
          currentJson = json;
          if (changed) {
            log.info("JWKS {} changed: keys {}", uri, ks.kids());
            onChange.run();
          }
        }
        fetchedAtMillis = clock.millis();
        mine.complete(ks);
      } catch (Throwable t) {
        Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        log.warn("JWKS {} could not be fetched ({}); {}", uri, describe(cause),
            current == null ? "no keys yet" : "keeping keys " + current.kids());
        mine.completeExceptionally(cause);
      } finally {
        inflight.compareAndSet(mine, null);
      }
    });
    return mine;
  }

  private static String describe(Throwable t) {
    if (t instanceof java.util.concurrent.TimeoutException || t instanceof java.net.http.HttpTimeoutException) {
      return "timed out";
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  /** A body subscriber that gives up past {@code max} bytes. */
  private static final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final int max;
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    private Flow.Subscription subscription;

    LimitedBody(int max) {
      this.max = max;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      this.subscription = s;
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      for (ByteBuffer b : items) {
        if (out.size() + b.remaining() > max) {
          subscription.cancel();
          result.completeExceptionally(new IOException("JWKS document larger than " + max + " bytes"));
          return;
        }
        byte[] a = new byte[b.remaining()];
        b.get(a);
        out.writeBytes(a);
      }
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      result.complete(out.toByteArray());
    }
  }
}
