package dev.gatehouse.proxy.reverse;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Objects;

/**
 * A server address of an {@link UpstreamGroup}, checked, with its key: {@code scheme://authority} with
 * the scheme in lower case. The key is the server's identity within its group (two URIs with the same
 * key name the same server); {@link #keyOf} is the one place it is computed.
 *
 * @param uri the URI as given
 * @param key its identity within a group
 */
record ServerUri(URI uri, String key) {

  /**
   * Checks {@code uri}: an absolute {@code http} or {@code https} URI with scheme, host and optional
   * port only.
   *
   * @throws IllegalArgumentException naming the value and the expectation otherwise
   */
  static ServerUri parse(String uri) {
    Objects.requireNonNull(uri, "uri");
    URI u;
    try {
      u = new URI(uri);
    } catch (URISyntaxException e) {
      u = null;
    }
    if (u == null || u.getScheme() == null || u.getHost() == null
        || !(u.getScheme().equalsIgnoreCase("http") || u.getScheme().equalsIgnoreCase("https"))) {
      throw new IllegalArgumentException("upstream: " + uri + " (expected: an absolute http or https URI)");
    }
    if ((u.getRawPath() != null && !u.getRawPath().isEmpty() && !u.getRawPath().equals("/"))
        || u.getRawQuery() != null || u.getRawFragment() != null || u.getRawUserInfo() != null) {
      throw new IllegalArgumentException("upstream: " + uri
          + " (expected: scheme, host and port only; use Route.rewritePrefix to change paths)");
    }
    return new ServerUri(u, keyOf(u));
  }

  /** The key of a checked URI: {@code scheme://authority}, the scheme in lower case. */
  static String keyOf(URI uri) {
    return uri.getScheme().toLowerCase(Locale.ROOT) + "://" + uri.getRawAuthority();
  }
}
