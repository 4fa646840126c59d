package dev.gatehouse.proxy.access;

import dev.gatehouse.proxy.BodyTooLargeException;
import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.nio.ByteBuffer;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Per-route limits on what a request may be: its method (405 with {@code Allow} otherwise) and the size
 * of its body (413 otherwise).
 *
 * <pre>{@code
 * Route.pathPrefix("/upload")
 *     .addFilter(RequestLimits.builder().allowMethods("POST", "PUT").maxBodySize(50L * 1024 * 1024).build())
 *     .to("http://files.internal:8080");
 * }</pre>
 *
 * <p>A body whose {@code Content-Length} is over the limit is refused before anything is sent upstream;
 * a chunked body is counted as it streams and, once over, the upstream connection is aborted (it never
 * sees a complete request) and the client gets 413. Allowing {@code GET} allows {@code HEAD} too.
 */
public final class RequestLimits implements Filter {
  private final long maxBodySize;
  private final Set<String> methods;
  private final String allow;

  private RequestLimits(long maxBodySize, Set<String> methods) {
    this.maxBodySize = maxBodySize;
    this.methods = Set.copyOf(methods);
    this.allow = String.join(", ", methods);
  }

  /** A builder with no limits. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    if (!methods.isEmpty() && !methods.contains(exchange.request().method())) {
      ProxyResponse r = ProxyResponse.of(405, "Method Not Allowed\n");
      r.headers().set("Allow", allow);
      return CompletableFuture.completedFuture(r);
    }
    if (maxBodySize >= 0) {
      long length = exchange.request().contentLength();
      if (length > maxBodySize) {
        return CompletableFuture.completedFuture(ProxyResponse.of(413, "Content Too Large\n"));
      }
      if (length < 0) {
        exchange.request().transformBody(new Counter(maxBodySize));
      }
    }
    return chain.proceed();
  }

  /** Fails the request body once it passes the limit. */
  private static final class Counter implements BodyTransformer {
    private final long limit;
    private long seen;

    Counter(long limit) {
      this.limit = limit;
    }

    @Override
    public ByteBuffer transform(ByteBuffer chunk) {
      seen += chunk.remaining();
      if (seen > limit) {
        throw new BodyTooLargeException(limit);
      }
      return chunk;
    }
  }

  @Override
  public String toString() {
    return "RequestLimits(" + (methods.isEmpty() ? "" : "methods " + allow) + (maxBodySize >= 0 ? " maxBodySize " + maxBodySize : "") + ")";
  }

  /** Settings of {@link RequestLimits}. */
  public static final class Builder {
    private long maxBodySize = -1;
    private final Set<String> methods = new LinkedHashSet<>();

    private Builder() {}

    /**
     * Largest request body in bytes; larger gets 413.
     *
     * @implSpec Defaults to no limit.
     */
    public Builder maxBodySize(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("maxBodySize: " + bytes + " (expected: >= 0)");
      }
      this.maxBodySize = bytes;
      return this;
    }

    /** The methods allowed (case-sensitive tokens such as {@code GET}); others get 405. Adds to the list. */
    public Builder allowMethods(String... methods) {
      Objects.requireNonNull(methods, "allowMethods");
      for (String m : methods) {
        Objects.requireNonNull(m, "method");
        if (!HeaderValuesParser.isToken(m)) {
          throw new IllegalArgumentException("allowMethods: \"" + m + "\" (expected: a method token such as GET)");
        }
        this.methods.add(m);
        if (m.equals("GET")) {
          this.methods.add("HEAD");
        }
      }
      return this;
    }

    /** Builds the filter. */
    public RequestLimits build() {
      if (maxBodySize < 0 && methods.isEmpty()) {
        throw new IllegalStateException("limits: none (expected: maxBodySize or allowMethods)");
      }
      return new RequestLimits(maxBodySize, methods);
    }
  }
}
