package dev.gatehouse.proxy.access;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

/**
 * Cross-origin resource sharing as the Fetch standard defines it, answered by the proxy so the
 * upstreams need not know about it.
 *
 * <pre>{@code
 * Cors cors = Cors.builder()
 *     .allowOrigins("https://app.example.com", "https://*.preview.example.com")
 *     .allowMethods("GET", "POST", "PUT", "DELETE")
 *     .allowHeaders("Authorization", "Content-Type")
 *     .exposeHeaders("RateLimit", "RateLimit-Policy", "X-Request-Id")
 *     .allowCredentials(true)
 *     .maxAge(Duration.ofMinutes(10))
 *     .build();
 * }</pre>
 *
 * <ul>
 *   <li><b>Preflights</b> ({@code OPTIONS} with {@code Origin} and {@code Access-Control-Request-Method})
 *       are answered here and never forwarded: 204 with {@code Access-Control-Allow-Origin}, {@code
 *       -Methods}, {@code -Headers}, {@code -Credentials} and {@code -Max-Age} when the origin, the
 *       method and every requested header are allowed; 403 without any CORS field otherwise.
 *   <li><b>CORS requests</b> (with {@code Origin}) from an allowed origin go upstream and their response
 *       gets {@code Access-Control-Allow-Origin} (the origin, or {@code *} for any origin without
 *       credentials), {@code -Credentials} and {@code -Expose-Headers}, replacing any the upstream
 *       sent. From any other origin they go upstream unchanged and the response carries no CORS field
 *       (upstream ones are removed), so the browser keeps the response from the page.
 *   <li><b>Other requests</b> (no {@code Origin}) pass untouched.
 *   <li>Unless any origin is allowed without credentials, responses get {@code Vary: Origin} so shared
 *       caches keep the variants apart.
 * </ul>
 *
 * <p>Origins are {@code scheme://host[:port]}; a pattern's {@code *} stands for one or more host labels
 * ({@code https://*.example.com}) or for any port ({@code http://localhost:*}); {@code *} alone allows
 * any origin, which credentials forbid. Add it before authentication filters: preflights carry no
 * credentials.
 */
public final class Cors implements Filter {
  private static final Pattern ORIGIN = Pattern.compile("(https?|[a-z][a-z0-9+.-]*)://([a-z0-9.*-]+|\\[[0-9a-f:.]+\\])(:([0-9]{1,5}|\\*))?");

  private final Set<String> exactOrigins;
  private final List<Pattern> originPatterns;
  private final boolean anyOrigin;
  private final Set<String> methods;
  private final String methodsField;
  private final Set<String> headers;
  private final boolean anyHeader;
  private final String headersField;
  private final String exposeField;
  private final boolean credentials;
  private final String maxAge;

  private Cors(Builder b) {
    this.exactOrigins = Set.copyOf(b.exact);
    this.originPatterns = List.copyOf(b.patterns);
    this.anyOrigin = b.anyOrigin;
    this.methods = Set.copyOf(b.methods);
    this.methodsField = String.join(", ", b.methods);
    Set<String> lower = new LinkedHashSet<>();
    for (String h : b.headers) {
      lower.add(h.toLowerCase(Locale.ROOT));
    }
    this.headers = Set.copyOf(lower);
    this.anyHeader = b.anyHeader;
    this.headersField = String.join(", ", b.headers);
    this.exposeField = String.join(", ", b.expose);
    this.credentials = b.credentials;
    this.maxAge = b.maxAge == null ? null : Long.toString(b.maxAge.toSeconds());
  }

  /** A builder; allow at least one origin. */
  public static Builder builder() {
    return new Builder();
  }

  private boolean varies() {
    return !(anyOrigin && !credentials);
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    HttpHeaders h = exchange.request().headers();
    List<String> origins = h.getAll("Origin");
    if (origins.isEmpty()) {
      return varies() ? chain.proceed().thenApply(this::vary) : chain.proceed();
    }
    String origin = origins.size() == 1 ? origins.get(0).trim() : null;
    boolean allowed = origin != null && allowed(origin);
    boolean preflight = "OPTIONS".equals(exchange.request().method()) && h.contains("Access-Control-Request-Method");
    if (preflight) {
      return CompletableFuture.completedFuture(preflight(h, allowed ? origin : null));
    }
    if (!allowed) {
      return chain.proceed().thenApply(r -> {
        stripCors(r.headers());
        return vary(r);
      });
    }
    return chain.proceed().thenApply(r -> {
      HttpHeaders out = r.headers();
      stripCors(out);
      allowOrigin(out, origin);
      if (!exposeField.isEmpty()) {
        out.set("Access-Control-Expose-Headers", exposeField);
      }
      return vary(r);
    });
  }

  private ProxyResponse preflight(HttpHeaders request, String origin) {
    String method = request.get("Access-Control-Request-Method").orElse("").trim();
    List<String> requested = HeaderValuesParser.elements(request.getAll("Access-Control-Request-Headers"));
    boolean ok = origin != null && HeaderValuesParser.isToken(method)
        && (methods.contains(method) || method.equals("GET") || method.equals("HEAD") || method.equals("POST"));
    List<String> reflected = new ArrayList<>();
    for (String name : requested) {
      if (!ok) {
        break;
      }
      String lower = name.toLowerCase(Locale.ROOT);
      if (!HeaderValuesParser.isToken(lower) || !(anyHeader || headers.contains(lower))) {
        ok = false;
      }
      reflected.add(lower);
    }
    ProxyResponse r;
    if (!ok) {
      r = ProxyResponse.of(403, "Forbidden: CORS preflight not allowed\n");
    } else {
      r = ProxyResponse.of(204);
      HttpHeaders out = r.headers();
      allowOrigin(out, origin);
      out.set("Access-Control-Allow-Methods", methodsField.isEmpty() ? method : methodsField);
      if (!requested.isEmpty()) {
        out.set("Access-Control-Allow-Headers", anyHeader ? String.join(", ", reflected) : headersField);
      }
      if (maxAge != null) {
        out.set("Access-Control-Max-Age", maxAge);
      }
    }
    r.headers().add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    return r;
  }

  private void allowOrigin(HttpHeaders out, String origin) {
    if (anyOrigin && !credentials) {
      out.set("Access-Control-Allow-Origin", "*");
    } else {
      out.set("Access-Control-Allow-Origin", origin);
    }
    if (credentials) {
      out.set("Access-Control-Allow-Credentials", "true");
    }
  }

  private static void stripCors(HttpHeaders out) {
    for (String name : List.copyOf(out.names())) {
      if (name.regionMatches(true, 0, "Access-Control-", 0, 15)) {
        out.remove(name);
      }
    }
  }

  private ProxyResponse vary(ProxyResponse r) {
    if (varies()) {
      List<String> vary = r.headers().getAll("Vary");
      if (!HeaderValuesParser.listContains(vary, "Origin") && !HeaderValuesParser.listContains(vary, "*")) {
        r.headers().add("Vary", "Origin");
      }
    }
    return r;
  }

  boolean allowed(String origin) {
    String o = origin.toLowerCase(Locale.ROOT);
    if (o.equals("null")) {
      return anyOrigin || exactOrigins.contains("null");
    }
    if (!ORIGIN.matcher(o).matches() || o.indexOf('*') >= 0) {
      return false;
    }
    if (anyOrigin || exactOrigins.contains(o)) {
      return true;
    }
    for (Pattern p : originPatterns) {
      if (p.matcher(o).matches()) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "Cors(" + (anyOrigin ? "*" : exactOrigins + " " + originPatterns) + ")";
  }

  /** Settings of {@link Cors}. */
  public static final class Builder {
    private final Set<String> exact = new LinkedHashSet<>();
    private final List<Pattern> patterns = new ArrayList<>();
    private boolean anyOrigin;
    private final Set<String> methods = new LinkedHashSet<>(List.of("GET", "HEAD", "POST"));
    private boolean methodsSet;
    private final Set<String> headers = new LinkedHashSet<>();
    private boolean anyHeader;
    private final Set<String> expose = new LinkedHashSet<>();
    private boolean credentials;
    private Duration maxAge;

    private Builder() {}

    /**
     * Origins allowed: exact ({@code https://app.example.com}), patterns ({@code https://*.example.com},
     * {@code http://localhost:*}), {@code null} (sandboxed documents; rarely wise) or {@code *} for any.
     */
    public Builder allowOrigins(String... origins) {
      Objects.requireNonNull(origins, "allowOrigins");
      for (String o : origins) {
        Objects.requireNonNull(o, "origin");
        String lower = o.toLowerCase(Locale.ROOT);
        if (o.equals("*")) {
          anyOrigin = true;
        } else if (o.equals("null")) {
          exact.add("null");
        } else if (!ORIGIN.matcher(lower).matches()) {
          throw new IllegalArgumentException("allowOrigins: \"" + o + "\" (expected: scheme://host[:port] such as"
              + " https://app.example.com, a pattern such as https://*.example.com, or *)");
        } else if (lower.indexOf('*') >= 0) {
          patterns.add(pattern(o, lower));
        } else {
          exact.add(lower);
        }
      }
      return this;
    }

    private static Pattern pattern(String original, String lower) {
      int hostStart = lower.indexOf("://") + 3;
      StringBuilder re = new StringBuilder(Pattern.quote(lower.substring(0, hostStart)));
      String rest = lower.substring(hostStart);
      int colon = rest.lastIndexOf(':');
      String host = colon >= 0 && !rest.startsWith("[") ? rest.substring(0, colon) : rest;
      String port = colon >= 0 && !rest.startsWith("[") ? rest.substring(colon + 1) : null;
      if (host.contains("*")) {
        if (!host.startsWith("*.") || host.indexOf('*', 1) >= 0) {
          throw new IllegalArgumentException("allowOrigins: \"" + original + "\" (expected: * only as the first host"
              + " labels, as in https://*.example.com, or as the port)");
        }
        re.append("[a-z0-9-]+(\\.[a-z0-9-]+)*").append(Pattern.quote(host.substring(1)));
      } else {
        re.append(Pattern.quote(host));
      }
      if (port != null) {
        re.append(':').append(port.equals("*") ? "[0-9]{1,5}" : Pattern.quote(port));
      }
      return Pattern.compile(re.toString());
    }

    /**
     * Methods allowed beyond the CORS-safelisted GET, HEAD and POST (listed in preflight answers);
     * replaces the list.
     *
     * @implSpec Defaults to GET, HEAD, POST.
     */
    public Builder allowMethods(String... methods) {
      Objects.requireNonNull(methods, "allowMethods");
      if (!methodsSet) {
        this.methods.clear();
        methodsSet = true;
      }
      for (String m : methods) {
        Objects.requireNonNull(m, "method");
        if (!HeaderValuesParser.isToken(m)) {
          throw new IllegalArgumentException("allowMethods: \"" + m + "\" (expected: a method token such as PUT)");
        }
        this.methods.add(m);
      }
      return this;
    }

    /** Request headers a page may send (e.g. {@code Authorization}, {@code Content-Type}); {@code *} for any. */
    public Builder allowHeaders(String... headers) {
      Objects.requireNonNull(headers, "allowHeaders");
      for (String h : headers) {
        Objects.requireNonNull(h, "header");
        if (h.equals("*")) {
          anyHeader = true;
        } else if (!HeaderValuesParser.isToken(h)) {
          throw new IllegalArgumentException("allowHeaders: \"" + h + "\" (expected: a header name such as Content-Type, or *)");
        } else {
          this.headers.add(h);
        }
      }
      return this;
    }

    /** Response headers a page may read beyond the safelisted ones (e.g. {@code X-Request-Id}, {@code RateLimit}). */
    public Builder exposeHeaders(String... headers) {
      Objects.requireNonNull(headers, "exposeHeaders");
      for (String h : headers) {
        Objects.requireNonNull(h, "header");
        if (!HeaderValuesParser.isToken(h)) {
          throw new IllegalArgumentException("exposeHeaders: \"" + h + "\" (expected: a header name such as X-Request-Id)");
        }
        expose.add(h);
      }
      return this;
    }

    /**
     * Whether pages may send cookies and credentials.
     *
     * @implSpec Defaults to false.
     */
    public Builder allowCredentials(boolean allow) {
      this.credentials = allow;
      return this;
    }

    /**
     * How long browsers may cache a preflight answer (0-24 hours).
     *
     * @implSpec Defaults to none (browsers use 5 s).
     */
    public Builder maxAge(Duration maxAge) {
      Objects.requireNonNull(maxAge, "maxAge");
      if (maxAge.isNegative() || maxAge.compareTo(Duration.ofHours(24)) > 0) {
        throw new IllegalArgumentException("maxAge: " + maxAge + " (expected: 0-24 hours)");
      }
      this.maxAge = maxAge;
      return this;
    }

    /**
     * Builds the filter.
     *
     * @throws IllegalStateException without origins, or with any origin and credentials
     */
    public Cors build() {
      if (!anyOrigin && exact.isEmpty() && patterns.isEmpty()) {
        throw new IllegalStateException("allowOrigins: none (expected: at least one origin, pattern or *)");
      }
      if (anyOrigin && credentials) {
        throw new IllegalStateException("allowOrigins: * with allowCredentials(true) (expected: the origins listed;"
            + " browsers refuse credentials with any origin)");
      }
      return new Cors(this);
    }
  }
}
