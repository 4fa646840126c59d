package dev.gatehouse.proxy;

import dev.gatehouse.proxy.internal.exchange.HeaderMapHeaders;
import dev.gatehouse.proxy.internal.exchange.ResponseImpl;
import dev.gatehouse.proxy.internal.upstream.BodySource;
import dev.gatehouse.proxy.internal.upstream.UpstreamCall;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A response on its way back to the client: from the upstream, or made by a filter or the error
 * handler with one of the {@code of} methods. A filter changes the status and the header fields and
 * may register body transformers; the body itself is the engine's to deliver.
 *
 * <p>The body is never held in memory unless a transformer asks for it: an upstream body streams to
 * the client after the filters have returned. The proxy sets the framing ({@code Content-Length} or
 * chunked) itself; filters need not, and cannot break it.
 *
 * <p>A final class, so that every response the chain returns is one the engine knows how to deliver
 * (the engine reaches its body through an accessor of its own). Not thread-safe: change it on the
 * thread the chain runs on.
 */
public final class ProxyResponse {
  static {
    ResponseImpl.install(new Access());
  }

  private int status;
  /** The fields as the engine keeps them, or null for a response of the in-memory filter harness. */
  private final HeaderMap headerMap;
  private HttpHeaders headers;
  private final byte[] body;
  private final UpstreamCall call;
  private final BodySource source;
  private final String protocol;
  private final boolean upstream;
  private List<BodyTransformer> transformers;

  private ProxyResponse(int status, HeaderMap headerMap, HttpHeaders headers, byte[] body, UpstreamCall call,
      BodySource source, String protocol, boolean upstream) {
    this.status = status;
    this.headerMap = headerMap;
    this.headers = headers;
    this.body = body;
    this.call = call;
    this.source = source;
    this.protocol = protocol;
    this.upstream = upstream;
  }

  /**
   * A response with no body.
   *
   * @throws IllegalArgumentException if {@code status} is not 200-599
   */
  public static ProxyResponse of(int status) {
    return local(status, null, null);
  }

  /**
   * A response with a short plain-text body ({@code text/plain; charset=utf-8}).
   *
   * @throws IllegalArgumentException if {@code status} is not 200-599
   */
  public static ProxyResponse of(int status, String text) {
    Objects.requireNonNull(text, "text");
    return local(status, text.getBytes(StandardCharsets.UTF_8), "text/plain; charset=utf-8");
  }

  /**
   * A response with the given body and {@code Content-Type}.
   *
   * @throws IllegalArgumentException if {@code status} is not 200-599
   */
  public static ProxyResponse of(int status, byte[] body, String contentType) {
    Objects.requireNonNull(body, "body");
    Objects.requireNonNull(contentType, "contentType");
    return local(status, body.clone(), contentType);
  }

  private static ProxyResponse local(int status, byte[] body, String contentType) {
    checkStatus(status);
    HeaderMap map = new HeaderMap();
    if (contentType != null) {
      map.put(Headers.CONTENT_TYPE, contentType);
    }
    return new ProxyResponse(status, map, null, body, null, null, null, false);
  }

  private static void checkStatus(int status) {
    if (status < 200 || status > 599) {
      throw new IllegalArgumentException("status: " + status + " (expected: 200-599)");
    }
  }

  /** The status code. */
  public int status() {
    return status;
  }

  /**
   * Changes the status code; must be 200-599 (interim 1xx responses are forwarded by the proxy itself).
   *
   * @throws IllegalArgumentException if {@code status} is not 200-599
   */
  public ProxyResponse status(int status) {
    checkStatus(status);
    this.status = status;
    return this;
  }

  /** The header fields; changes apply to what the client receives. */
  public HttpHeaders headers() {
    if (headers == null) {
      headers = new HeaderMapHeaders(headerMap);
    }
    return headers;
  }

  /**
   * Streams the response body through {@code transformer} on its way to the client. Transformers
   * registered by several filters apply in the order of registration (the innermost filter's first,
   * as it sees the response first).
   */
  public ProxyResponse transformBody(BodyTransformer transformer) {
    Objects.requireNonNull(transformer, "transformer");
    if (transformers == null) {
      transformers = new ArrayList<>(2);
    }
    transformers.add(transformer);
    return this;
  }

  /** Whether this response came from an upstream (as opposed to a filter or the error handler). */
  public boolean fromUpstream() {
    return upstream;
  }

  @Override
  public String toString() {
    return "ProxyResponse(" + status + (call != null || (upstream && source == null) ? ", from upstream"
        : source != null ? ", from cache" : "") + ")";
  }

  /** The engine's way to make responses and reach their parts ({@link ResponseImpl}). */
  private static final class Access implements ResponseImpl.Parts {
    @Override
    public ProxyResponse upstream(int status, HeaderMap headers, UpstreamCall call, String protocol) {
      return new ProxyResponse(status, headers, null, null, call, null, protocol, true);
    }

    @Override
    public ProxyResponse served(int status, HeaderMap headers, BodySource source, String protocol) {
      checkStatus(status);
      return new ProxyResponse(status, headers, null, null, null, Objects.requireNonNull(source, "source"), protocol,
          true);
    }

    @Override
    public ProxyResponse scripted(int status, HttpHeaders headers, byte[] body) {
      return new ProxyResponse(status, null, headers, body, null, null, null, true);
    }

    @Override
    public HeaderMap headerMap(ProxyResponse r) {
      return r.headerMap;
    }

    @Override
    public byte[] body(ProxyResponse r) {
      return r.body;
    }

    @Override
    public UpstreamCall call(ProxyResponse r) {
      return r.call;
    }

    @Override
    public BodySource source(ProxyResponse r) {
      return r.source;
    }

    @Override
    public String protocol(ProxyResponse r) {
      return r.protocol;
    }

    @Override
    public List<BodyTransformer> transformers(ProxyResponse r) {
      return r.transformers;
    }
  }
}
