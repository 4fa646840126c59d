package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.spi.Endpoint;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** A parent (upstream) proxy: where requests and tunnels go instead of to the destination. */
public final class ParentProxy {
  private final Endpoint endpoint;
  private final String authorization;
  private final String text;

  private ParentProxy(Endpoint endpoint, String authorization, String text) {
    this.endpoint = endpoint;
    this.authorization = authorization;
    this.text = text;
  }

  /**
   * Parses {@code http://[user:password@]host:port} (the {@code http_proxy} convention; a bare {@code
   * host:port} is taken as http). User and password may be percent-encoded.
   *
   * @throws IllegalArgumentException naming {@code setting} and the value
   */
  public static ParentProxy parse(String setting, String value) {
    if (value == null) {
      throw new NullPointerException(setting);
    }
    String v = value.trim();
    String shown = redact(v);
    String expected = "http://[user:password@]host:port";
    URI uri;
    try {
      uri = new URI(v.contains("://") ? v : "http://" + v);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(setting + ": \"" + shown + "\" (expected: " + expected + ")");
    }
    if (!"http".equalsIgnoreCase(uri.getScheme())) {
      throw new IllegalArgumentException(setting + ": \"" + shown + "\" (expected: an http:// proxy URI, "
          + expected + ")");
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException(setting + ": \"" + shown + "\" (expected: a host, " + expected + ")");
    }
    if (uri.getPort() < 0) {
      throw new IllegalArgumentException(setting + ": \"" + shown + "\" (expected: a port, e.g. "
          + "http://" + uri.getHost() + ":3128)");
    }
    String path = uri.getRawPath();
    if ((path != null && !path.isEmpty() && !path.equals("/")) || uri.getRawQuery() != null) {
      throw new IllegalArgumentException(setting + ": \"" + shown + "\" (expected: no path or query, "
          + expected + ")");
    }
    String auth = null;
    String userInfo = uri.getRawUserInfo();
    if (userInfo != null) {
      int colon = userInfo.indexOf(':');
      String user = URLDecoder.decode(colon < 0 ? userInfo : userInfo.substring(0, colon), StandardCharsets.UTF_8);
      String password = colon < 0 ? "" : URLDecoder.decode(userInfo.substring(colon + 1), StandardCharsets.UTF_8);
      auth = basic(user, password);
    }
    String host = uri.getHost();
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new ParentProxy(new Endpoint("http", host, uri.getPort(), null), auth, shown);
  }

  static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static String redact(String v) {
    int at = v.lastIndexOf('@');
    int scheme = v.indexOf("://");
    if (at < 0) {
      return v;
    }
    return (scheme >= 0 ? v.substring(0, scheme + 3) : "") + "***@" + v.substring(at + 1);
  }

  public Endpoint endpoint() {
    return endpoint;
  }

  /** The {@code Proxy-Authorization} value for the parent, or null. */
  public String authorization() {
    return authorization;
  }

  @Override
  public String toString() {
    return text;
  }
}
