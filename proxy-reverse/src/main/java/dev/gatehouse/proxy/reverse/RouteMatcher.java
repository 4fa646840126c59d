package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyRequest;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/** The conditions of a route; all must hold. */
final class RouteMatcher {
  /** A route's condition on a header field: present, or (with a value) having that value. */
  record HeaderCondition(String name, @Nullable String value) {}

  private final String pathPrefix;
  private final String exactPath;
  private final String host;
  private final List<String> methods;
  private final List<HeaderCondition> headers;

  RouteMatcher(String pathPrefix, String exactPath, String host, List<String> methods, List<HeaderCondition> headers) {
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
    for (HeaderCondition h : headers) {
      if (h.value() == null) {
        if (!request.headers().contains(h.name())) {
          return false;
        }
      } else if (!request.headers().getAll(h.name()).contains(h.value())) {
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

  private static boolean sameHeaders(List<HeaderCondition> a, List<HeaderCondition> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (!a.get(i).name().equalsIgnoreCase(b.get(i).name()) || !Objects.equals(a.get(i).value(), b.get(i).value())) {
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
    for (HeaderCondition h : headers) {
      sb.append(sb.length() > 0 ? "." : "").append("header(").append(h.name());
      if (h.value() != null) {
        sb.append('=').append(h.value());
      }
      sb.append(')');
    }
    return sb.length() == 0 ? "any()" : sb.toString();
  }
}
