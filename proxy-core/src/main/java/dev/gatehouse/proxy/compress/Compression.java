package dev.gatehouse.proxy.compress;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Compresses responses on their way to the client (nginx's {@code gzip}, Envoy's compressor): gzip from
 * the JDK, Brotli and zstd when their libraries are on the class path, chosen by the client's {@code
 * Accept-Encoding} weights and, among equal weights, by the server's order.
 *
 * <pre>{@code
 * ReverseProxy.builder()
 *     .addFilter(Compression.builder()
 *         .encodings(Encoding.BROTLI, Encoding.GZIP)   // fails at build() without brotli4j
 *         .level(Encoding.GZIP, 5)
 *         .build())
 * }</pre>
 *
 * <p>A response is compressed only when all of these hold: the request is not {@code HEAD}; the status
 * is not 204, 206 or 304 (nor 1xx); it has no {@code Content-Encoding} (other than {@code identity}) and
 * no {@code Content-Range}; its {@code Content-Type} matches {@link Builder#compressibleTypes} (by default
 * {@link #DEFAULT_COMPRESSIBLE_TYPES}); {@code Cache-Control} has no {@code no-transform}; and its
 * {@code Content-Length}, when known, is at least {@link Builder#minSize}. Such a response gets {@code
 * Vary: Accept-Encoding} whether or not this client accepts a coding, so shared caches keep the variants
 * apart. A compressed response loses {@code Content-Length} (it streams chunked, or with an exact length
 * when it is small and complete at once), {@code Accept-Ranges}, {@code Content-MD5} and {@code
 * Content-Digest}; a strong {@code ETag} becomes weak ({@code "x"} to {@code W/"x"}), so caches and
 * conditional requests never take the compressed bytes for the identity ones.
 *
 * <p><b>Streaming.</b> The body is compressed chunk by chunk as it arrives; memory per response is the
 * compressor's state (about 300 KiB for gzip at level 6, 1-3 MiB for Brotli and zstd at their default
 * levels) plus one chunk, whatever the body's size. A {@code text/event-stream} response is flushed
 * after every chunk the upstream sends, so server-sent events are never held back; other responses are
 * flushed when the compressor's window fills and at the end.
 *
 * <p>Add it early (first) on the chain, so that it sees the final response, including those other
 * filters make.
 */
public final class Compression implements Filter {

  /** The media types compressed by default. */
  public static final List<String> DEFAULT_COMPRESSIBLE_TYPES = List.of(
      "text/*",
      "application/json", "application/*+json", "application/x-ndjson",
      "application/javascript", "application/x-javascript", "application/ecmascript",
      "application/xml", "application/*+xml",
      "image/svg+xml",
      "application/wasm");

  /** Responses with a known length below this many bytes are sent as they are by default. */
  public static final int DEFAULT_MIN_SIZE = 1024;

  private final List<Encoding> encodings;
  private final Map<Encoding, Integer> levels;
  private final MediaTypes types;
  private final List<String> typeList;
  private final int minSize;

  private Compression(Builder b, List<Encoding> encodings) {
    this.encodings = List.copyOf(encodings);
    this.levels = new EnumMap<>(Encoding.class);
    for (Encoding e : Encoding.values()) {
      levels.put(e, b.levels.getOrDefault(e, e.defaultLevel()));
    }
    this.typeList = List.copyOf(b.types);
    this.types = MediaTypes.of(typeList, "compressibleTypes");
    this.minSize = b.minSize;
  }

  /**
   * A filter with the defaults: every available encoding (zstd, Brotli, gzip, in that order of
   * preference), default levels and types, minimum size {@value #DEFAULT_MIN_SIZE} bytes.
   */
  public static Compression defaults() {
    return builder().build();
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** The encodings offered, in the server's order of preference. */
  public List<Encoding> encodings() {
    return encodings;
  }

  /** The compression level used for {@code encoding}. */
  public int level(Encoding encoding) {
    return levels.get(Objects.requireNonNull(encoding, "encoding"));
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    if ("HEAD".equals(exchange.request().method())) {
      return chain.proceed();
    }
    List<String> accept = exchange.request().headers().getAll("Accept-Encoding");
    Encoding chosen = accept.isEmpty() ? null : AcceptEncoding.choose(accept, encodings);
    return chain.proceed().thenApply(response -> {
      apply(exchange, response, chosen);
      return response;
    });
  }

  private void apply(ProxyExchange exchange, ProxyResponse response, Encoding chosen) {
    int status = response.status();
    if (status < 200 || status == 204 || status == 206 || status == 304) {
      return;
    }
    HttpHeaders h = response.headers();
    Optional<String> contentEncoding = h.get("Content-Encoding");
    if (contentEncoding.isPresent() && !contentEncoding.get().trim().equalsIgnoreCase("identity")) {
      return;
    }
    if (h.contains("Content-Range")) {
      return;
    }
    Optional<String> contentType = h.get("Content-Type");
    if (contentType.isEmpty()) {
      return;
    }
    String mediaType = HeaderValuesParser.mediaType(contentType.get());
    if (!types.matches(mediaType)) {
      return;
    }
    if (HeaderValuesParser.listContains(h.getAll("Cache-Control"), "no-transform")) {
      return;
    }
    Optional<String> length = h.get("Content-Length");
    if (length.isPresent()) {
      try {
        if (Long.parseLong(length.get().trim()) < minSize) {
          return;
        }
      } catch (NumberFormatException e) {
        return;
      }
    }
    List<String> vary = h.getAll("Vary");
    if (!HeaderValuesParser.listContains(vary, "Accept-Encoding") && !HeaderValuesParser.listContains(vary, "*")) {
      h.add("Vary", "Accept-Encoding");
    }
    if (chosen == null) {
      return;
    }
    StreamEncoder encoder = newEncoder(chosen, mediaType.equals("text/event-stream"));
    h.set("Content-Encoding", chosen.token());
    h.remove("Content-Length");
    h.remove("Accept-Ranges");
    h.remove("Content-MD5");
    h.remove("Content-Digest");
    Optional<String> etag = h.get("ETag");
    if (etag.isPresent() && etag.get().startsWith("\"")) {
      h.set("ETag", "W/" + etag.get());
    }
    exchange.onComplete(encoder::close);
    response.transformBody(encoder);
  }

  private StreamEncoder newEncoder(Encoding e, boolean flushEachChunk) {
    int level = levels.get(e);
    switch (e) {
      case BROTLI:
        return new BrotliCodec.Compressor(level, flushEachChunk);
      case ZSTD:
        return new ZstdCodec.Compressor(level, flushEachChunk);
      default:
        return new GzipCodec.Compressor(level, flushEachChunk);
    }
  }

  @Override
  public String toString() {
    return "Compression" + encodings;
  }

  /** Settings of a {@link Compression} filter. */
  public static final class Builder {
    private List<Encoding> encodings;
    private final Map<Encoding, Integer> levels = new EnumMap<>(Encoding.class);
    private List<String> types = DEFAULT_COMPRESSIBLE_TYPES;
    private int minSize = DEFAULT_MIN_SIZE;

    private Builder() {}

    /**
     * The encodings to offer, in the server's order of preference (used when the client weighs several
     * equally). Each must be {@linkplain Encoding#isAvailable() available}: {@link #build()} fails
     * naming the missing artifact otherwise.
     *
     * @implSpec Defaults to every available one of zstd, Brotli and gzip, in that order.
     */
    public Builder encodings(Encoding... inPreferenceOrder) {
      Objects.requireNonNull(inPreferenceOrder, "encodings");
      if (inPreferenceOrder.length == 0) {
        throw new IllegalArgumentException("encodings: [] (expected: at least one encoding)");
      }
      List<Encoding> list = new ArrayList<>();
      for (Encoding e : inPreferenceOrder) {
        Objects.requireNonNull(e, "encoding");
        if (list.contains(e)) {
          throw new IllegalArgumentException("encodings: " + e.token() + " given twice (expected: each once)");
        }
        list.add(e);
      }
      this.encodings = list;
      return this;
    }

    /**
     * The compression level of {@code encoding}, within {@link Encoding#minLevel()}-{@link
     * Encoding#maxLevel()}.
     *
     * @implSpec Defaults to {@link Encoding#defaultLevel()}: gzip 6, Brotli 4, zstd 3.
     */
    public Builder level(Encoding encoding, int level) {
      Objects.requireNonNull(encoding, "encoding");
      if (level < encoding.minLevel() || level > encoding.maxLevel()) {
        throw new IllegalArgumentException("level: " + encoding.token() + " " + level + " (expected: "
            + encoding.minLevel() + "-" + encoding.maxLevel() + ")");
      }
      levels.put(encoding, level);
      return this;
    }

    /**
     * Responses whose {@code Content-Length} is below this are sent as they are (compressing them saves
     * less than it costs). Responses of unknown length are compressed.
     *
     * @implSpec Defaults to {@value
     * Compression#DEFAULT_MIN_SIZE} bytes.
     */
    public Builder minSize(int bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("minSize: " + bytes + " (expected: >= 0)");
      }
      this.minSize = bytes;
      return this;
    }

    /**
     * The media types to compress, replacing the list; {@code *} stands for any characters within the
     * type or the subtype, e.g. {@code text/*} or {@code application/*+json}.
     *
     * @implSpec Defaults to {@link Compression#DEFAULT_COMPRESSIBLE_TYPES}.
     */
    public Builder compressibleTypes(String... mediaTypes) {
      Objects.requireNonNull(mediaTypes, "compressibleTypes");
      List<String> list = List.of(mediaTypes);
      MediaTypes.of(list, "compressibleTypes"); // validates
      this.types = list;
      return this;
    }

    /**
     * Builds the filter.
     *
     * @throws IllegalStateException if an encoding asked for with {@link #encodings} needs a library that
     *     is missing (the message names the Maven artifact)
     */
    public Compression build() {
      List<Encoding> list = encodings;
      if (list == null) {
        list = new ArrayList<>();
        for (Encoding e : List.of(Encoding.ZSTD, Encoding.BROTLI, Encoding.GZIP)) {
          if (e.isAvailable()) {
            list.add(e);
          }
        }
      } else {
        for (Encoding e : list) {
          e.requireAvailable("Compression");
        }
      }
      return new Compression(this, list);
    }
  }
}
