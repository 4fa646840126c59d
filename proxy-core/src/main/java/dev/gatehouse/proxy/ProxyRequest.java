package dev.gatehouse.proxy;

/**
 * The request a filter sees and may change before it is forwarded.
 *
 * <p>The path and query are kept in their raw, percent-encoded form as received (after the proxy's
 * normalisation, if any), so that forwarding never re-encodes them.
 */
public interface ProxyRequest {

  /** The method, e.g. {@code GET}. */
  String method();

  /** Changes the method to forward; must be an RFC 9110 token. */
  ProxyRequest method(String method);

  /** The scheme the client used towards the proxy ({@code http} or {@code https}), or of the target URI in a forward proxy. */
  String scheme();

  /** The authority the request is for: the {@code Host} header, or the host and port of an absolute-form target. */
  String authority();

  /** The raw path, starting with {@code /} (for a CONNECT request: empty). */
  String path();

  /** Changes the path to forward; must start with {@code /} and contain no whitespace, CR, LF or {@code ?}. */
  ProxyRequest path(String rawPath);

  /** The raw query without {@code ?}, or the empty string when there is none. */
  String query();

  /** Changes the raw query (without {@code ?}); the empty string removes it. */
  ProxyRequest query(String rawQuery);

  /** The path and query as sent upstream, e.g. {@code /a/b?x=1}. */
  default String pathAndQuery() {
    String q = query();
    return q.isEmpty() ? path() : path() + "?" + q;
  }

  /** The protocol the client spoke, e.g. {@code HTTP/1.1} or {@code HTTP/2.0}. */
  String protocol();

  /** The header fields; changes apply to the forwarded request. */
  HttpHeaders headers();

  /**
   * The request body's declared length in bytes, or {@code -1} when unknown (chunked) ; {@code 0} when
   * there is no body.
   */
  long contentLength();

  /**
   * Streams the request body through {@code transformer} on its way upstream. Transformers registered
   * by several filters apply in registration order. The proxy fixes the framing: a transformed body is
   * sent chunked, or with an exact {@code Content-Length} when it is complete before being sent.
   */
  ProxyRequest transformBody(BodyTransformer transformer);
}
