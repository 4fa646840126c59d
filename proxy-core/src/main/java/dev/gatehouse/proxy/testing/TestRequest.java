package dev.gatehouse.proxy.testing;

import dev.gatehouse.proxy.CheckReturnValue;
import dev.gatehouse.proxy.internal.http1.Http;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A request as a client sends it, for {@link FilterHarness}. Immutable: each method returns a changed
 * copy.
 *
 * <pre>{@code
 * TestRequest.GET("/orders?page=2").header("X-Api-Key", "k-1")
 * TestRequest.POST("/orders", "{\"item\":7}").header("Content-Type", "application/json")
 * }</pre>
 */
@CheckReturnValue
public final class TestRequest {
  private final String method;
  private final String path;
  private final String query;
  private final String scheme;
  private final String authority;
  private final String protocol;
  private final List<Map.Entry<String, String>> headers;
  private final byte[] body;
  private final InetSocketAddress client;

  private TestRequest(String method, String path, String query, String scheme, String authority, String protocol,
      List<Map.Entry<String, String>> headers, byte[] body, InetSocketAddress client) {
    this.method = method;
    this.path = path;
    this.query = query;
    this.scheme = scheme;
    this.authority = authority;
    this.protocol = protocol;
    this.headers = headers;
    this.body = body;
    this.client = client;
  }

  /**
   * A request with {@code method} for {@code pathAndQuery} (e.g. {@code /a/b?x=1}), {@code Host:
   * localhost}, from {@code 127.0.0.1}, over HTTP/1.1, without a body.
   *
   * @throws IllegalArgumentException if the method is not a token or the path does not start with
   *     {@code /} or holds whitespace or control characters
   */
  public static TestRequest of(String method, String pathAndQuery) {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(pathAndQuery, "pathAndQuery");
    if (!Http.isToken(method)) {
      throw new IllegalArgumentException("method: \"" + method + "\" (expected: an RFC 9110 token such as GET)");
    }
    if (!pathAndQuery.startsWith("/") || pathAndQuery.chars().anyMatch(c -> c <= ' ' || c >= 0x7F || c == '#')) {
      throw new IllegalArgumentException("pathAndQuery: \"" + pathAndQuery
          + "\" (expected: starts with /, percent-encoded, without whitespace, controls or #)");
    }
    int q = pathAndQuery.indexOf('?');
    String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    String query = q < 0 ? "" : pathAndQuery.substring(q + 1);
    return new TestRequest(method, path, query, "http", "localhost", "HTTP/1.1", List.of(), new byte[0],
        new InetSocketAddress("127.0.0.1", 50_000));
  }

  /** A {@code GET} for {@code pathAndQuery}. */
  public static TestRequest GET(String pathAndQuery) {
    return of("GET", pathAndQuery);
  }

  /** A {@code POST} for {@code pathAndQuery} with a UTF-8 body. */
  public static TestRequest POST(String pathAndQuery, String body) {
    return of("POST", pathAndQuery).body(body);
  }

  /** A {@code PUT} for {@code pathAndQuery} with a UTF-8 body. */
  public static TestRequest PUT(String pathAndQuery, String body) {
    return of("PUT", pathAndQuery).body(body);
  }

  /** A {@code DELETE} for {@code pathAndQuery}. */
  public static TestRequest DELETE(String pathAndQuery) {
    return of("DELETE", pathAndQuery);
  }

  /** With a header field added (checked as the proxy checks fields). */
  public TestRequest header(String name, String value) {
    Http.checkName(name);
    Http.checkValue(name, value);
    List<Map.Entry<String, String>> h = new ArrayList<>(headers);
    h.add(Map.entry(name, value));
    return new TestRequest(method, path, query, scheme, authority, protocol, Collections.unmodifiableList(h), body,
        client);
  }

  /** With {@code body} (UTF-8) as the request body. */
  public TestRequest body(String body) {
    return body(Objects.requireNonNull(body, "body").getBytes(StandardCharsets.UTF_8));
  }

  /** With {@code body} as the request body. */
  public TestRequest body(byte[] body) {
    return new TestRequest(method, path, query, scheme, authority, protocol, headers,
        Objects.requireNonNull(body, "body").clone(), client);
  }

  /** For the virtual host {@code authority}, e.g. {@code api.example.com} ({@code Host}). */
  public TestRequest authority(String authority) {
    Objects.requireNonNull(authority, "authority");
    if (authority.isEmpty() || authority.chars().anyMatch(c -> c <= ' ' || c >= 0x7F || c == '/')) {
      throw new IllegalArgumentException("authority: \"" + authority + "\" (expected: host[:port])");
    }
    return new TestRequest(method, path, query, scheme, authority, protocol, headers, body, client);
  }

  /**
   * Sent over TLS ({@code https}, {@code isSecure()}) or not.
   *
   * @implSpec Defaults to plain {@code http}.
   */
  public TestRequest secure(boolean secure) {
    return new TestRequest(method, path, query, secure ? "https" : "http", authority, protocol, headers, body, client);
  }

  /** The protocol the client spoke, {@code HTTP/1.1} or {@code HTTP/2.0}. */
  public TestRequest protocol(String protocol) {
    Objects.requireNonNull(protocol, "protocol");
    if (!protocol.equals("HTTP/1.0") && !protocol.equals("HTTP/1.1") && !protocol.equals("HTTP/2.0")) {
      throw new IllegalArgumentException("protocol: \"" + protocol + "\" (expected: HTTP/1.0, HTTP/1.1 or HTTP/2.0)");
    }
    return new TestRequest(method, path, query, scheme, authority, protocol, headers, body, client);
  }

  /**
   * From the client at {@code ip} (an IPv4 or IPv6 literal).
   *
   * @implSpec Defaults to {@code 127.0.0.1}.
   */
  public TestRequest from(String ip) {
    Objects.requireNonNull(ip, "ip");
    byte[] literal = dev.gatehouse.proxy.spi.CidrSet.parseLiteral(ip);
    if (literal == null) {
      throw new IllegalArgumentException("ip: \"" + ip + "\" (expected: an IPv4 or IPv6 address)");
    }
    try {
      return new TestRequest(method, path, query, scheme, authority, protocol, headers, body,
          new InetSocketAddress(java.net.InetAddress.getByAddress(literal), 50_000));
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException("ip: \"" + ip + "\" (expected: an IPv4 or IPv6 address)", e);
    }
  }

  String method() {
    return method;
  }

  String path() {
    return path;
  }

  String query() {
    return query;
  }

  String scheme() {
    return scheme;
  }

  String authority() {
    return authority;
  }

  String protocol() {
    return protocol;
  }

  List<Map.Entry<String, String>> headers() {
    return headers;
  }

  byte[] body() {
    return body;
  }

  InetSocketAddress client() {
    return client;
  }

  /** The request line and head as a client would send them over HTTP/1.1 (for comparisons with a real proxy). */
  public String toHttp1() {
    StringBuilder sb = new StringBuilder();
    sb.append(method).append(' ').append(path).append(query.isEmpty() ? "" : "?" + query).append(" HTTP/1.1\r\n");
    sb.append("Host: ").append(authority).append("\r\n");
    for (Map.Entry<String, String> h : headers) {
      sb.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
    }
    if (body.length > 0) {
      sb.append("Content-Length: ").append(body.length).append("\r\n");
    }
    return sb.append("\r\n").append(new String(body, StandardCharsets.ISO_8859_1)).toString();
  }

  @Override
  public String toString() {
    return "TestRequest(" + method + " " + path + (query.isEmpty() ? "" : "?" + query) + ")";
  }
}
