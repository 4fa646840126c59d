package dev.gatehouse.proxy.internal.cache;

import java.net.URI;
import java.util.Locale;

/**
 * Default cache keys: the URI the client asked for, as {@code scheme://authority/path?query} with the
 * scheme and authority in lower case and a default port left out; the path and query stay as sent
 * (percent-encoded), so that purging by URI finds what clients requested.
 */
public final class CacheKeys {
  private CacheKeys() {}

  /** The default key of an absolute URI (for purging). */
  public static String keyOf(URI uri) {
    if (uri.getScheme() == null || uri.getRawAuthority() == null) {
      throw new IllegalArgumentException("uri: \"" + uri + "\" (expected: an absolute http or https URI)");
    }
    String path = uri.getRawPath();
    return key(uri.getScheme(), uri.getRawAuthority(), path == null || path.isEmpty() ? "/" : path,
        uri.getRawQuery() == null ? "" : uri.getRawQuery());
  }

  /** The default key of a request for {@code scheme://authority} {@code path}?{@code query}. */
  static String key(String scheme, String authority, String path, String query) {
    String s = scheme.toLowerCase(Locale.ROOT);
    String a = authority.toLowerCase(Locale.ROOT);
    if ((s.equals("http") && a.endsWith(":80")) || (s.equals("https") && a.endsWith(":443"))) {
      a = a.substring(0, a.lastIndexOf(':'));
    }
    StringBuilder sb = new StringBuilder(s.length() + a.length() + path.length() + query.length() + 5);
    sb.append(s).append("://").append(a).append(path.isEmpty() ? "/" : path);
    if (!query.isEmpty()) {
      sb.append('?').append(query);
    }
    return sb.toString();
  }
}
