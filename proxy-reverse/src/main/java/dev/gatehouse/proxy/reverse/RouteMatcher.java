package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyRequest;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/** The conditions of a route; all must hold. */
final class RouteMatcher {
  private final String pathPrefix;
  private final String exactPath;
  private final String host;
  private final List<String> methods;
  private final List<String[]> headers;

  RouteMatcher(String pathPrefix, String exactPath, String host, List<String> methods, List<String[]> headers) {
    this.pathPrefix = pathPrefix;
    this.exactPath = exactPath;
    this.host = host;
    this.methods = methods;
    this.headers = headers;
  }

  /** Whether the request matches; {@code path} is the normalised path, {@code requestHost} lower-case without port. */
  boolean matches(ProxyRequest request, String path, String requestHost) {
    if (exactPath != null && !exactPath.equals(path)) {
      return false;
    }
    if (pathPrefix != null && !prefixMatches(pathPrefix, path)) {
      return false;
    }
    if (host != null && !hostMatches(host, requestHost)) {
      return false;
    }
    if (!methods.isEmpty() && !methods.contains(request.method())) {
      return false;
    }
    for (String[] h : headers) {
      if (h[1] == null) {
        if (!request.headers().contains(h[0])) {
          return false;
        }
      } else if (!request.headers().getAll(h[0]).contains(h[1])) {
        return false;
      }
    }
    return true;
  }

  static boolean prefixMatches(String prefix, String path) {
    if (prefix.equals("/")) {
      return true;
    }
    return path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
  }

  private static boolean hostMatches(String pattern, String requestHost) {
    if (requestHost == null) {
      return false;
    }
    if (pattern.startsWith("*.")) {
      return requestHost.endsWith(pattern.substring(1)) && requestHost.length() > pattern.length() - 1;
    }
    return pattern.equals(requestHost);
  }

  /** The request's host in lower case without port. */
  static String hostOf(String authority) {
    if (authority == null || authority.isEmpty()) {
      return null;
    }
    String a = authority.toLowerCase(Locale.ROOT);
    if (a.startsWith("[")) {
      int end = a.indexOf(']');
      return end > 0 ? a.substring(0, end + 1) : a;
    }
    int colon = a.indexOf(':');
    return colon >= 0 ? a.substring(0, colon) : a;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof RouteMatcher)) {
      return false;
    }
    RouteMatcher m = (RouteMatcher) o;
    return Objects.equals(pathPrefix, m.pathPrefix) && Objects.equals(exactPath, m.exactPath)
        && Objects.equals(host, m.host) && methods.equals(m.methods) && sameHeaders(headers, m.headers);
  }

  private static boolean sameHeaders(List<String[]> a, List<String[]> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (!a.get(i)[0].equalsIgnoreCase(b.get(i)[0]) || !Objects.equals(a.get(i)[1], b.get(i)[1])) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return Objects.hash(pathPrefix, exactPath, host, methods);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    if (pathPrefix != null) {
      sb.append("pathPrefix(").append(pathPrefix).append(')');
    }
    if (exactPath != null) {
      sb.append(sb.length() > 0 ? "." : "").append("path(").append(exactPath).append(')');
    }
    if (host != null) {
      sb.append(sb.length() > 0 ? "." : "").append("host(").append(host).append(')');
    }
    if (!methods.isEmpty()) {
      sb.append(sb.length() > 0 ? "." : "").append("methods(").append(String.join(",", methods)).append(')');
    }
    for (String[] h : headers) {
      sb.append(sb.length() > 0 ? "." : "").append("header(").append(h[0]);
      if (h[1] != null) {
        sb.append('=').append(h[1]);
      }
      sb.append(')');
    }
    return sb.length() == 0 ? "any()" : sb.toString();
  }
}
