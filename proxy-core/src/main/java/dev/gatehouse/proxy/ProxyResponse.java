package dev.gatehouse.proxy;

import dev.gatehouse.proxy.internal.exchange.ResponseImpl;
import java.nio.charset.StandardCharsets;

/**
 * A response on its way back to the client: from the upstream, or made by a filter or the error
 * handler.
 *
 * <p>The body is never held in memory unless a transformer asks for it: an upstream body streams to
 * the client after the filters have returned. The proxy sets the framing ({@code Content-Length} or
 * chunked) itself; filters need not, and cannot break it.
 */
public interface ProxyResponse {

  /** The status code. */
  int status();

  /** Changes the status code; must be 200-599 (interim 1xx responses are forwarded by the proxy itself). */
  ProxyResponse status(int status);

  /** The header fields; changes apply to what the client receives. */
  HttpHeaders headers();

  /**
   * Streams the response body through {@code transformer} on its way to the client. Transformers
   * registered by several filters apply in the order of registration (the innermost filter's first,
   * as it sees the response first).
   */
  ProxyResponse transformBody(BodyTransformer transformer);

  /** Whether this response came from an upstream (as opposed to a filter or the error handler). */
  boolean fromUpstream();

  /** A response with no body. */
  static ProxyResponse of(int status) {
    return new ResponseImpl(status, null, null);
  }

  /** A response with a short plain-text body ({@code text/plain; charset=utf-8}). */
  static ProxyResponse of(int status, String text) {
    java.util.Objects.requireNonNull(text, "text");
    return new ResponseImpl(status, text.getBytes(StandardCharsets.UTF_8), "text/plain; charset=utf-8");
  }

  /** A response with the given body and {@code Content-Type}. */
  static ProxyResponse of(int status, byte[] body, String contentType) {
    java.util.Objects.requireNonNull(body, "body");
    java.util.Objects.requireNonNull(contentType, "contentType");
    return new ResponseImpl(status, body.clone(), contentType);
  }
}
