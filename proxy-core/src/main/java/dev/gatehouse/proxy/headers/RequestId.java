package dev.gatehouse.proxy.headers;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Gives every request an id: the one the client (or a proxy in front) sent in {@code X-Request-Id} when
 * it is well-formed, else a new one. The id goes upstream in that header, back to the client in the
 * response, and to {@link #ATTRIBUTE} for logs and other filters (the {@code ${request_id}} placeholder
 * of {@link HeaderRules}).
 *
 * <pre>{@code
 * ReverseProxy.builder().addFilter(RequestId.defaults())...
 * }</pre>
 *
 * <p>A received id is kept only if it is 1-128 characters of letters, digits and {@code -._:+/=}
 * (UUIDs, ULIDs, trace ids, base64), so a client cannot smuggle anything into logs or headers through
 * it; otherwise it is replaced. New ids are random UUIDs (version 4) from a fast non-cryptographic
 * generator: they identify requests, they are not secrets. Add it first on the chain, so that every
 * answer, refusals by later filters included, carries the id.
 */
public final class RequestId implements Filter {
  /** Where the id is stored. */
  public static final AttributeKey<String> ATTRIBUTE = AttributeKey.of("requestId");
  /** The header used by default. */
  public static final String DEFAULT_HEADER = "X-Request-Id";
  /** Declared before DEFAULTS, which its builder reads. */
  private static final Supplier<String> DEFAULT_GENERATOR = RequestId::randomUuid;
  private static final RequestId DEFAULTS = builder().build();

  private final String header;
  private final boolean trustIncoming;
  private final boolean echo;
  private final Supplier<String> generator;

  private RequestId(Builder b) {
    this.header = b.header;
    this.trustIncoming = b.trustIncoming;
    this.echo = b.echo;
    this.generator = b.generator;
  }

  /** {@code X-Request-Id}, kept when valid, echoed in responses, random UUIDs. */
  public static RequestId defaults() {
    return DEFAULTS;
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** The id of {@code exchange}, if this filter has run. */
  public static java.util.Optional<String> of(ProxyExchange exchange) {
    return Objects.requireNonNull(exchange, "exchange").attribute(ATTRIBUTE);
  }

  /** A random version-4 UUID from {@link ThreadLocalRandom}. */
  static String randomUuid() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long msb = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lsb = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(msb, lsb).toString();
  }

  /** 1-128 letters, digits or {@code -._:+/=} (a loop, not a regex: this runs on every request). */
  static boolean valid(String id) {
    int n = id.length();
    if (n == 0 || n > 128) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = id.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
          || c == '_' || c == ':' || c == '+' || c == '/' || c == '=')) {
        return false;
      }
    }
    return true;
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    String id = null;
    if (trustIncoming) {
      String incoming = exchange.request().headers().get(header).orElse(null);
      if (incoming != null && valid(incoming)) {
        id = incoming;
      }
    }
    if (id == null) {
      id = generator.get();
      if (generator != DEFAULT_GENERATOR && (id == null || !valid(id))) { // ours are valid by construction
        throw new IllegalStateException("request id generator returned \"" + id
            + "\" (expected: 1-128 letters, digits or -._:+/=)");
      }
    }
    String requestId = id;
    exchange.attribute(ATTRIBUTE, requestId);
    exchange.request().headers().set(header, requestId);
    if (!echo) {
      return chain.proceed();
    }
    return chain.proceed().thenApply(r -> {
      r.headers().set(header, requestId);
      return r;
    });
  }

  @Override
  public String toString() {
    return "RequestId(" + header + ")";
  }

  /** Settings of {@link RequestId}. */
  public static final class Builder {
    private String header = DEFAULT_HEADER;
    private boolean trustIncoming = true;
    private boolean echo = true;
    private Supplier<String> generator = DEFAULT_GENERATOR;

    private Builder() {}

    /**
     * The header carrying the id.
     *
     * @implSpec Defaults to {@value RequestId#DEFAULT_HEADER}.
     */
    public Builder header(String name) {
      Objects.requireNonNull(name, "header");
      if (!HeaderValuesParser.isToken(name)) {
        throw new IllegalArgumentException("header: \"" + name + "\" (expected: a header name such as X-Request-Id)");
      }
      this.header = name;
      return this;
    }

    /**
     * Whether a well-formed id sent by the client is kept (true) or always replaced (false; for a proxy
     * facing untrusted clients that must own its ids).
     *
     * @implSpec Defaults to true.
     */
    public Builder trustIncoming(boolean trust) {
      this.trustIncoming = trust;
      return this;
    }

    /**
     * Whether responses carry the id too.
     *
     * @implSpec Defaults to true.
     */
    public Builder echoInResponse(boolean echo) {
      this.echo = echo;
      return this;
    }

    /**
     * Makes new ids; each must be 1-128 letters, digits or {@code -._:+/=}.
     *
     * @implSpec Defaults to random UUIDs.
     */
    public Builder generator(Supplier<String> generator) {
      this.generator = Objects.requireNonNull(generator, "generator");
      return this;
    }

    /** Builds the filter. */
    public RequestId build() {
      return new RequestId(this);
    }
  }
}
