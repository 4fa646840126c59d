package dev.gatehouse.proxy.compress;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.StringJoiner;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decompresses request bodies sent with {@code Content-Encoding: gzip} (or {@code br}) before they go
 * upstream, for upstreams that do not read compressed bodies, with a limit on the decompressed size so
 * a small compressed body cannot expand into gigabytes (a "zip bomb").
 *
 * <pre>{@code
 * Route.pathPrefix("/ingest")
 *     .addFilter(RequestDecompression.builder().maxDecompressedSize(16 * 1024 * 1024).build())
 *     .to("http://ingest.internal:8080");
 * }</pre>
 *
 * <p>The body streams: each chunk is decompressed as it arrives and the upstream receives it chunked,
 * without {@code Content-Encoding}. A body that decompresses to more than the limit gets 413 and the
 * upstream connection is aborted, so the upstream never sees a complete request; corrupt or truncated
 * compressed data gets 400 the same way. A {@code Content-Encoding} of another coding, or of several
 * codings, is answered 415 with {@code Accept-Encoding} naming the codings accepted (RFC 9110 §15.5.16),
 * unless {@link Builder#passUnsupported(boolean)} lets it through unchanged.
 */
public final class RequestDecompression implements Filter {
  /** The decompressed-size limit by default: 10 MiB. */
  public static final long DEFAULT_MAX_DECOMPRESSED_SIZE = 10L * 1024 * 1024;

  private final long maxBytes;
  private final List<Encoding> encodings;
  private final boolean passUnsupported;
  private final String acceptEncoding;

  private RequestDecompression(Builder b, List<Encoding> encodings) {
    this.maxBytes = b.maxBytes;
    this.encodings = List.copyOf(encodings);
    this.passUnsupported = b.passUnsupported;
    StringJoiner j = new StringJoiner(", ");
    for (Encoding e : encodings) {
      j.add(e.token());
    }
    this.acceptEncoding = j.toString();
  }

  /** A builder: gzip (and Brotli when available), at most {@value #DEFAULT_MAX_DECOMPRESSED_SIZE} bytes. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    List<String> codings = HeaderValuesParser.elements(exchange.request().headers().getAll("Content-Encoding"));
    codings.removeIf(c -> c.equalsIgnoreCase("identity"));
    if (codings.isEmpty()) {
      exchange.request().headers().remove("Content-Encoding");
      return chain.proceed();
    }
    Encoding encoding = codings.size() == 1 ? find(codings.get(0).toLowerCase(Locale.ROOT)) : null;
    if (encoding == null) {
      if (passUnsupported) {
        return chain.proceed();
      }
      ProxyResponse r = ProxyResponse.of(415, "Unsupported Media Type: Content-Encoding (accepted: "
          + acceptEncoding + ")\n");
      r.headers().set("Accept-Encoding", acceptEncoding);
      return CompletableFuture.completedFuture(r);
    }
    exchange.request().headers().remove("Content-Encoding");
    if (exchange.request().contentLength() != 0) {
      StreamDecoder decoder = encoding == Encoding.BROTLI
          ? new BrotliCodec.Decompressor(maxBytes)
          : new GzipCodec.Decompressor(maxBytes);
      exchange.onComplete(decoder::close);
      exchange.request().transformBody(decoder);
    }
    return chain.proceed();
  }

  private Encoding find(String token) {
    for (Encoding e : encodings) {
      if (e.token().equals(token) || (e == Encoding.GZIP && token.equals("x-gzip"))) {
        return e;
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return "RequestDecompression(" + acceptEncoding + ", max " + maxBytes + " bytes)";
  }

  /** Settings of a {@link RequestDecompression} filter. */
  public static final class Builder {
    private long maxBytes = DEFAULT_MAX_DECOMPRESSED_SIZE;
    private List<Encoding> encodings;
    private boolean passUnsupported;

    private Builder() {}

    /**
     * Most bytes a body may decompress to; more gets 413.
     *
     * @implSpec Defaults to {@value
     * RequestDecompression#DEFAULT_MAX_DECOMPRESSED_SIZE} (10 MiB).
     */
    public Builder maxDecompressedSize(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("maxDecompressedSize: " + bytes + " (expected: > 0)");
      }
      this.maxBytes = bytes;
      return this;
    }

    /**
     * The codings to decompress: {@link Encoding#GZIP} and {@link Encoding#BROTLI}.
     *
     * @implSpec Defaults to gzip, and Brotli when brotli4j is on the class path.
     */
    public Builder encodings(Encoding... encodings) {
      Objects.requireNonNull(encodings, "encodings");
      if (encodings.length == 0) {
        throw new IllegalArgumentException("encodings: [] (expected: at least one encoding)");
      }
      List<Encoding> list = new ArrayList<>();
      for (Encoding e : encodings) {
        Objects.requireNonNull(e, "encoding");
        if (e == Encoding.ZSTD) {
          throw new IllegalArgumentException("encodings: zstd (expected: gzip or br)");
        }
        if (!list.contains(e)) {
          list.add(e);
        }
      }
      this.encodings = list;
      return this;
    }

    /**
     * Whether a body in a coding not listed in {@link #encodings} goes upstream unchanged instead of
     * being answered 415.
     *
     * @implSpec Defaults to false.
     */
    public Builder passUnsupported(boolean pass) {
      this.passUnsupported = pass;
      return this;
    }

    /**
     * Builds the filter.
     *
     * @throws IllegalStateException if Brotli was asked for and brotli4j is missing
     */
    public RequestDecompression build() {
      List<Encoding> list = encodings;
      if (list == null) {
        list = new ArrayList<>(List.of(Encoding.GZIP));
        if (Encoding.BROTLI.isAvailable()) {
          list.add(Encoding.BROTLI);
        }
      } else {
        for (Encoding e : list) {
          e.requireAvailable("RequestDecompression");
        }
      }
      return new RequestDecompression(this, list);
    }
  }
}
