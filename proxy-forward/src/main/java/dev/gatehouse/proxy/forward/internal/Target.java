package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.spi.CidrSet;
import dev.gatehouse.proxy.spi.Exchange;
import java.util.Locale;

/**
 * Where a forward-proxy request goes, read from its request target: absolute-form ({@code GET
 * http://host:port/path}), authority-form ({@code CONNECT host:port}) or, in transparent mode,
 * origin-form with the {@code Host} header.
 *
 * @param connect a {@code CONNECT} tunnel
 * @param host lower case, IPv6 without brackets, no trailing dot
 * @param port the destination port
 * @param authority {@code host[:port]} as it goes into {@code Host}
 * @param absolute whether the client sent absolute-form (so {@code Host} must be replaced by it)
 */
public record Target(boolean connect, String host, int port, String authority, boolean absolute) {

  /** A request target the proxy cannot use; becomes a 400 with this message. */
  public static final class BadTarget extends RuntimeException {
    BadTarget(String message) {
      super(message, null, false, false);
    }
  }

  /** Reads the target of {@code ex}. @throws BadTarget if it is malformed or not for a forward proxy */
  public static Target of(Exchange ex, boolean transparent) {
    String uri = ex.requestTarget();
    if ("CONNECT".equals(ex.request().method())) {
      if (uri.startsWith("/") || uri.contains("/") || uri.contains("@")) {
        throw new BadTarget("CONNECT target " + uri + " (expected: host:port)");
      }
      return authority(uri, -1, true, "CONNECT target " + uri + " (expected: host:port)");
    }
    if (ex.absoluteFormTarget()) {
      int s = uri.indexOf("://");
      String scheme = uri.substring(0, s).toLowerCase(Locale.ROOT);
      if (!scheme.equals("http")) {
        throw new BadTarget("unsupported scheme " + scheme + " in " + uri
            + " (expected: http; https goes through a CONNECT tunnel)");
      }
      int slash = uri.indexOf('/', s + 3);
      String auth = uri.substring(s + 3, slash < 0 ? uri.length() : slash);
      if (auth.indexOf('@') >= 0) {
        throw new BadTarget("userinfo in request target " + uri + " (expected: http://host[:port]/path)");
      }
      return authority(auth, 80, false, "request target " + uri + " (expected: http://host[:port]/path)");
    }
    if (!transparent) {
      throw new BadTarget("request target " + uri + " is not an absolute URI "
          + "(expected: absolute-form such as http://example.com/; this is a forward proxy)");
    }
    if (!uri.startsWith("/") && !uri.equals("*")) {
      throw new BadTarget("request target " + uri + " (expected: /path)");
    }
    String host = ex.request().headers().get("Host").orElse(null);
    if (host == null || host.isEmpty()) {
      throw new BadTarget("no Host header (expected: the destination in Host, as in transparent mode)");
    }
    return authority(host, 80, false, "Host " + host + " (expected: host[:port])").absolute(false);
  }

  private static Target authority(String auth, int defaultPort, boolean connect, String error) {
    if (auth.isEmpty()) {
      throw new BadTarget("missing host in " + error);
    }
    String host;
    String portText = null;
    if (auth.startsWith("[")) {
      int end = auth.indexOf(']');
      if (end < 0) {
        throw new BadTarget(error);
      }
      host = auth.substring(1, end);
      String rest = auth.substring(end + 1);
      if (!rest.isEmpty()) {
        if (!rest.startsWith(":")) {
          throw new BadTarget(error);
        }
        portText = rest.substring(1);
      }
      if (host.indexOf(':') < 0 || CidrSet.parseLiteral(host) == null) {
        throw new BadTarget(error);
      }
    } else {
      int colon = auth.indexOf(':');
      if (colon >= 0 && colon != auth.lastIndexOf(':')) {
        throw new BadTarget(error); // an IPv6 address must be in brackets
      }
      host = colon < 0 ? auth : auth.substring(0, colon);
      portText = colon < 0 ? null : auth.substring(colon + 1);
    }
    host = host.toLowerCase(Locale.ROOT);
    if (host.isEmpty()) {
      throw new BadTarget("missing host in " + error);
    }
    String bare = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    if (!auth.startsWith("[") && CidrSet.parseLiteral(bare) == null && !HostPattern.isHostName(bare)) {
      throw new BadTarget("invalid host in " + error);
    }
    int port = defaultPort;
    if (portText != null && !portText.isEmpty()) {
      port = -1;
      if (portText.length() <= 5 && portText.chars().allMatch(c -> c >= '0' && c <= '9')) {
        port = Integer.parseInt(portText);
      }
      if (port < 1 || port > 65535) {
        throw new BadTarget("invalid port in " + error);
      }
    } else if (connect) {
      throw new BadTarget("missing port in " + error);
    }
    return new Target(connect, bare, port, auth, true);
  }

  /** The target with {@code absolute} set as given. */
  Target absolute(boolean absolute) {
    return new Target(connect, host, port, authority, absolute);
  }
}
