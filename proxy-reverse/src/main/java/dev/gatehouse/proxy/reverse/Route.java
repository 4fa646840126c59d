package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.cache.HttpCache;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Which requests go to which {@link UpstreamGroup}, with optional path rewriting and filters of their
 * own. Built in one expression, conditions first and {@link Builder#to} last:
 *
 * <pre>{@code
 * Route.pathPrefix("/api")
 *     .host("api.example.com")
 *     .methods("GET", "POST")
 *     .stripPrefix()
 *     .addFilter(auth)
 *     .to(UpstreamGroup.of("http://10.0.0.5:8080"));
 * }</pre>
 *
 * <p>Paths are matched after normalisation: dot segments ({@code /a/../b}, also percent-encoded) are
 * resolved and repeated slashes merged, and the normalised path is what the upstream receives; a path
 * that climbs above the root gets 400. A prefix matches whole segments: {@code /api} matches {@code
 * /api} and {@code /api/x}, not {@code /apix}.
 */
public final class Route {
  private final RouteMatcher matcher;
  private final String name;
  private final String stripPrefix;
  private final String replacement;
  private final List<Filter> filters;
  private final UpstreamGroup group;
  private final RetryPolicy retry;
  private final Duration connectTimeout;
  private final Duration readTimeout;
  private final Duration writeTimeout;
  private final Duration totalTimeout;
  private final HttpCache cache;
  private final boolean noCache;

  private Route(Builder b, UpstreamGroup group) {
    this.cache = b.cache;
    this.noCache = b.noCache;
    this.retry = b.retry;
    this.connectTimeout = b.connectTimeout;
    this.readTimeout = b.readTimeout;
    this.writeTimeout = b.writeTimeout;
    this.totalTimeout = b.totalTimeout;
    this.matcher = b.matcher();
    this.name = b.name != null ? b.name : matcher.toString();
    this.stripPrefix = b.rewrite ? b.pathPrefix : null;
    this.replacement = b.replacement;
    this.filters = List.copyOf(b.filters);
    this.group = group;
  }

  /** Requests whose path is {@code prefix} or below it. */
  public static Builder pathPrefix(String prefix) {
    return new Builder().pathPrefix(prefix);
  }

  /** Requests whose path is exactly {@code path}. */
  public static Builder path(String path) {
    return new Builder().path(path);
  }

  /** Requests for the virtual host {@code host} ({@code *.example.com} matches any subdomain). */
  public static Builder host(String host) {
    return new Builder().host(host);
  }

  /** Every request (a catch-all, usually added last). */
  public static Builder any() {
    return new Builder();
  }

  RouteMatcher matcher() {
    return matcher;
  }

  /**
   * The route's name: the one given to {@link Builder#name}, or its conditions such as {@code
   * pathPrefix(/api)}. It is the {@code route} tag of metrics, and appears in traces, the status and
   * logs; requests that match carry it as {@link dev.gatehouse.proxy.ProxyAttributes#ROUTE}.
   */
  public String name() {
    return name;
  }

  /** The upstream group requests go to. */
  public UpstreamGroup group() {
    return group;
  }

  /** The route's own filters, run inside the global ones. */
  public List<Filter> filters() {
    return filters;
  }

  /** When failed requests are tried again. */
  public RetryPolicy retryPolicy() {
    return retry;
  }

  @Nullable Duration connectTimeout() {
    return connectTimeout;
  }

  @Nullable Duration readTimeout() {
    return readTimeout;
  }

  @Nullable Duration writeTimeout() {
    return writeTimeout;
  }

  @Nullable Duration totalTimeout() {
    return totalTimeout;
  }

  /** The cache this route uses instead of the proxy's, or null. */
  @Nullable HttpCache cache() {
    return cache;
  }

  /** Whether this route bypasses every cache. */
  boolean noCache() {
    return noCache;
  }

  String strippedPrefix() {
    return stripPrefix;
  }

  String replacement() {
    return replacement;
  }

  @Override
  public String toString() {
    return "Route(" + (name.equals(matcher.toString()) ? "" : name + ": ") + matcher + " -> " + group + ")";
  }

  /** Conditions, rewriting and filters of a route being built. All conditions must hold. */
  public static final class Builder {
    private String pathPrefix;
    private String exactPath;
    private String host;
    private final List<String> methods = new ArrayList<>();
    private final List<RouteMatcher.HeaderCondition> headers = new ArrayList<>();
    private boolean rewrite;
    private String replacement = "";
    private final List<Filter> filters = new ArrayList<>();
    private RetryPolicy retry = RetryPolicy.defaults();
    private Duration connectTimeout;
    private Duration readTimeout;
    private Duration writeTimeout;
    private Duration totalTimeout;
    private String name;
    private HttpCache cache;
    private boolean noCache;

    private Builder() {}

    /**
     * Caches this route's responses in {@code cache} instead of the proxy's (see {@link
     * dev.gatehouse.proxy.ProxyBuilder#cache}); the cache runs after the route's filters.
     * @implSpec Defaults to the proxy's cache, if any.
     */
    public Builder cache(HttpCache cache) {
      Objects.requireNonNull(cache, "cache");
      if (noCache) {
        throw new IllegalStateException("cache: the route is already noCache() (expected: one of cache(...) or noCache())");
      }
      this.cache = cache;
      return this;
    }

    /** This route's responses are never cached, whatever cache the proxy has. */
    public Builder noCache() {
      if (cache != null) {
        throw new IllegalStateException("noCache: the route already has cache(" + cache + ") (expected: one of cache(...) or noCache())");
      }
      this.noCache = true;
      return this;
    }

    /**
     * When failed requests are tried on another server.
     *
     * @implSpec Defaults to {@link RetryPolicy#defaults()}.
     */
    public Builder retry(RetryPolicy policy) {
      this.retry = Objects.requireNonNull(policy, "retry");
      return this;
    }

    /**
     * Time to connect to a server of this route (nginx's {@code proxy_connect_timeout}).
     *
     * @implSpec Defaults to the proxy's.
     */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Checks.positive("connectTimeout", timeout);
      return this;
    }

    /**
     * Longest wait for the next byte of the response (nginx's {@code proxy_read_timeout}).
     * @implSpec Defaults to the proxy's {@code readTimeout}.
     */
    public Builder readTimeout(Duration timeout) {
      this.readTimeout = Checks.positive("readTimeout", timeout);
      return this;
    }

    /**
     * Longest wait for the server to accept more of the request (nginx's {@code proxy_send_timeout}).
     * @implSpec Defaults to the read timeout.
     */
    public Builder writeTimeout(Duration timeout) {
      this.writeTimeout = Checks.positive("writeTimeout", timeout);
      return this;
    }

    /**
     * Time from the request's arrival until the whole response has been received from the upstream,
     * retries included; over it the client gets 504 (or, once the response has started, a closed
     * connection).
     *
     * @implSpec Defaults to none.
     */
    public Builder totalTimeout(Duration timeout) {
      this.totalTimeout = Checks.positive("totalTimeout", timeout);
      return this;
    }


    /** Path at or below {@code prefix}. */
    public Builder pathPrefix(String prefix) {
      this.pathPrefix = checkPath("pathPrefix", prefix);
      return this;
    }

    /** Path equal to {@code path}. */
    public Builder path(String path) {
      this.exactPath = checkPath("path", path);
      return this;
    }

    /** {@code Host} equal to {@code host} (port ignored, case-insensitive); {@code *.example.com} for subdomains. */
    public Builder host(String host) {
      Objects.requireNonNull(host, "host");
      String h = host.toLowerCase(Locale.ROOT);
      if (h.isEmpty() || !h.matches("(\\*\\.)?[a-z0-9.\\-\\[\\]:]+")) {
        throw new IllegalArgumentException("host: \"" + host + "\" (expected: a host name such as api.example.com or *.example.com)");
      }
      this.host = h;
      return this;
    }

    /** Method is one of {@code methods}. */
    public Builder methods(String... methods) {
      Objects.requireNonNull(methods, "methods");
      for (String m : methods) {
        Objects.requireNonNull(m, "method");
        this.methods.add(Checks.token("method", m, "a method token such as GET"));
      }
      return this;
    }

    /** Header {@code name} is present. */
    public Builder header(String name) {
      headers.add(new RouteMatcher.HeaderCondition(checkHeaderName(name), null));
      return this;
    }

    /** Header {@code name} has the value {@code value} (exact match). */
    public Builder header(String name, String value) {
      headers.add(new RouteMatcher.HeaderCondition(checkHeaderName(name), Objects.requireNonNull(value, "value")));
      return this;
    }

    /** Removes the matched {@link #pathPrefix} before forwarding: {@code /api/users} becomes {@code /users}. */
    public Builder stripPrefix() {
      return rewritePrefix("");
    }

    /** Replaces the matched {@link #pathPrefix} with {@code replacement}: {@code /api/users} to {@code /v2/users}. */
    public Builder rewritePrefix(String replacement) {
      Objects.requireNonNull(replacement, "replacement");
      if (!replacement.isEmpty()) {
        checkPath("rewritePrefix", replacement);
      }
      this.rewrite = true;
      this.replacement = replacement.endsWith("/") ? replacement.substring(0, replacement.length() - 1) : replacement;
      return this;
    }

    /**
     * Names the route: the {@code route} tag of metrics (each name is a time series: keep them few and
     * stable), traces, the status, logs, rate-limit keys and header placeholders ({@link
     * dev.gatehouse.proxy.ProxyAttributes#ROUTE}); a token such as {@code orders-api}.
     *
     * @implSpec Defaults to the route's conditions, e.g. {@code pathPrefix(/api)}.
     */
    public Builder name(String name) {
      this.name = Checks.token("name", name, "a token such as orders-api");
      return this;
    }

    /** Adds a filter that runs for this route only, inside the global filters. */
    public Builder addFilter(Filter filter) {
      filters.add(Objects.requireNonNull(filter, "filter"));
      return this;
    }

    /** Finishes the route: matching requests go to {@code group}. */
    public Route to(UpstreamGroup group) {
      Objects.requireNonNull(group, "group");
      if (rewrite && pathPrefix == null) {
        throw new IllegalStateException("stripPrefix/rewritePrefix requires pathPrefix (expected: Route.pathPrefix(...) first)");
      }
      if (pathPrefix != null && exactPath != null) {
        throw new IllegalStateException("route has both pathPrefix(" + pathPrefix + ") and path(" + exactPath
            + ") (expected: one of them)");
      }
      return new Route(this, group);
    }

    /** Finishes the route with a group of a single upstream, e.g. {@code http://localhost:8081}. */
    public Route to(String upstreamUri) {
      return to(UpstreamGroup.of(upstreamUri));
    }

    RouteMatcher matcher() {
      return new RouteMatcher(pathPrefix, exactPath, host, List.copyOf(methods), List.copyOf(headers));
    }

    private static String checkPath(String name, String p) {
      Objects.requireNonNull(p, name);
      if (!p.startsWith("/") || p.contains("?") || p.contains("#") || p.chars().anyMatch(c -> c <= ' ' || c >= 0x7F)) {
        throw new IllegalArgumentException(name + ": \"" + p + "\" (expected: a path starting with /, without query)");
      }
      return p.length() > 1 && p.endsWith("/") && name.equals("pathPrefix") ? p.substring(0, p.length() - 1) : p;
    }

    private static String checkHeaderName(String name) {
      Objects.requireNonNull(name, "name");
      return Checks.token("header", name, "a header name token");
    }
  }
}
