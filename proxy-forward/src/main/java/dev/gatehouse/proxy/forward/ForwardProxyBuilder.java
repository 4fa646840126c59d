package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.ForwardedHeaders;
import dev.gatehouse.proxy.ProxyBuilder;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.forward.internal.ForwardSettings;
import dev.gatehouse.proxy.forward.internal.ForwardSteps;
import dev.gatehouse.proxy.forward.internal.NoProxy;
import dev.gatehouse.proxy.forward.internal.ParentProxy;
import dev.gatehouse.proxy.forward.internal.mitm.Interception;
import dev.gatehouse.proxy.forward.internal.mitm.OptionalDependencies;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import dev.gatehouse.proxy.spi.Tokens;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Builds a forward proxy: the shared settings of {@link ProxyBuilder} plus where requests may go
 * ({@link #egress}), who may use the proxy ({@link #proxyAuthentication}), what the destination learns
 * about the client ({@link #anonymous}), a parent proxy, and transparent mode.
 *
 * <p>Defaults: {@link EgressPolicy#allowPublic()} (no reserved addresses, {@code CONNECT} to 443 only),
 * no authentication, {@code Via: 1.1 gatehouse} added and {@code X-Forwarded-For} sent (the corporate
 * proxy's defaults, as RFC 9110 asks of a proxy), no parent proxy, tunnels closed after 5 minutes
 * without traffic.
 */
public final class ForwardProxyBuilder extends ProxyBuilder<ForwardProxyBuilder> {
  /** Default time a {@code CONNECT} tunnel may carry no byte in either direction before it is closed. */
  public static final Duration DEFAULT_TUNNEL_IDLE_TIMEOUT = Duration.ofMinutes(5);
  /** What {@link #anonymous} removes from every request, besides {@code X-Forwarded-*} and {@code Forwarded}. */
  public static final List<String> ANONYMOUS_STRIPPED = List.of("Via", "From", "X-Forwarded-For",
      "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Real-IP", "Forwarded", "X-Client-IP",
      "True-Client-IP", "CF-Connecting-IP", "X-Proxy-ID");

  private Supplier<EgressPolicy> egress = constant(EgressPolicy.allowPublic());
  private HostResolver resolver = HostResolver.system();
  private String realm;
  private ProxyAuthenticator authenticator;
  private boolean anonymous;
  private final List<String> stripped = new ArrayList<>();
  private boolean transparent;
  private ParentProxy parentHttp;
  private ParentProxy parentConnect;
  private NoProxy bypass = NoProxy.none();
  private String bypassText;
  private Map<String, String> environment;
  private Duration tunnelIdleTimeout = DEFAULT_TUNNEL_IDLE_TIMEOUT;
  private boolean viaSet;
  private String viaValue;
  private boolean forwardedSet;
  private ForwardedHeaders forwardedValue;
  private TlsInterception interception;
  private boolean egressSet;
  private UserPolicies userPolicies;

  ForwardProxyBuilder() {}

  private static Supplier<EgressPolicy> constant(EgressPolicy p) {
    return () -> p;
  }

  /**
   * Where requests may go.
   *
   * @implSpec Defaults to {@link EgressPolicy#allowPublic()}.
   */
  public ForwardProxyBuilder egress(EgressPolicy policy) {
    Objects.requireNonNull(policy, "egress");
    this.egress = constant(policy);
    this.egressSet = true;
    return this;
  }

  /**
   * Where requests may go, asked once per request so that the rules can be replaced while the proxy
   * runs, without a restart: each request is decided wholly by the one policy it got.
   *
   * <pre>{@code
   * AtomicReference<EgressPolicy> rules = new AtomicReference<>(EgressPolicy.denyAll().allowHosts("a.example"));
   * ForwardProxy.builder().egress(rules::get)...;
   * rules.set(rules.get().allowHosts("b.example"));   // takes effect with the next request
   * }</pre>
   *
   * <p>Called on an I/O thread: it must be quick and must not block. A {@code null} answer fails the
   * request with 500.
   */
  public ForwardProxyBuilder egress(Supplier<EgressPolicy> current) {
    this.egress = Objects.requireNonNull(current, "egress");
    this.egressSet = true;
    return this;
  }

  /**
   * How destination names are resolved (tests use it to simulate DNS).
   *
   * @implSpec Defaults to {@link
   * HostResolver#system()}.
   */
  public ForwardProxyBuilder resolver(HostResolver resolver) {
    this.resolver = Objects.requireNonNull(resolver, "resolver");
    return this;
  }

  /**
   * Requires {@code Proxy-Authorization: Basic} on every request, {@code CONNECT} included, checked by
   * {@code authenticator}. Missing or wrong credentials get 407 with {@code Proxy-Authenticate: Basic
   * realm="realm"}; the user name is put under {@link dev.gatehouse.proxy.AccessLog#USER}. The
   * credentials are never forwarded. Basic sends the password in clear text: use it on trusted
   * networks or over TLS to the proxy.
   */
  public ForwardProxyBuilder proxyAuthentication(String realm, ProxyAuthenticator authenticator) {
    Objects.requireNonNull(realm, "realm");
    Objects.requireNonNull(authenticator, "authenticator");
    for (int i = 0; i < realm.length(); i++) {
      char c = realm.charAt(i);
      if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
        throw new IllegalArgumentException("realm: \"" + realm + "\" (expected: text without quotes, backslashes "
            + "or control characters)");
      }
    }
    this.realm = realm;
    this.authenticator = authenticator;
    return this;
  }

  /**
   * Hides the client from destinations: no {@code Via} is added, {@code X-Forwarded-*} and {@code
   * Forwarded} are not sent, and {@link #ANONYMOUS_STRIPPED} plus {@code alsoStrip} (e.g. {@code
   * "User-Agent"}, {@code "Referer"}) are removed from every request. The destination still sees the
   * proxy's address, and the proxy operator still sees everything: this is not anonymity by itself.
   *
   * @throws IllegalArgumentException if a name is not a header field name
   */
  public ForwardProxyBuilder anonymous(String... alsoStrip) {
    Objects.requireNonNull(alsoStrip, "alsoStrip");
    for (String h : alsoStrip) {
      Objects.requireNonNull(h, "alsoStrip");
      if (!Tokens.isToken(h)) {
        throw new IllegalArgumentException("anonymous: \"" + h + "\" (expected: a header field name)");
      }
      stripped.add(h);
    }
    this.anonymous = true;
    return this;
  }

  /**
   * Accepts origin-form requests ({@code GET /path} with {@code Host}), as a proxy does that the network
   * sends port-80 traffic to without the clients knowing. The destination comes from {@code Host} and
   * goes through the same egress policy; requests whose {@code Host} names this proxy itself are refused
   * as loops.
   *
   * @implSpec Defaults to false: origin-form gets 400.
   */
  public ForwardProxyBuilder transparent(boolean transparent) {
    this.transparent = transparent;
    return this;
  }

  /**
   * Sends every request and tunnel through a parent proxy, {@code http://[user:password@]host:port}
   * (user and password percent-encoded), except destinations in {@link #parentProxyBypass}. With a
   * parent, destination names are not resolved here (the parent does it): host and port rules apply,
   * address rules only to IP literals.
   *
   * @throws IllegalArgumentException if the URI is not {@code http://host:port}
   */
  public ForwardProxyBuilder parentProxy(String uri) {
    ParentProxy p = ParentProxy.parse("parentProxy", uri);
    this.parentHttp = p;
    this.parentConnect = p;
    return this;
  }

  /**
   * Destinations that go direct rather than through the parent proxy, in the {@code no_proxy} syntax:
   * {@code localhost,127.0.0.1,.corp.example.com,10.0.0.0/8}; adds to the list.
   *
   * @throws IllegalArgumentException naming an entry that cannot be parsed
   */
  public ForwardProxyBuilder parentProxyBypass(String noProxy) {
    Objects.requireNonNull(noProxy, "parentProxyBypass");
    this.bypass = bypass.and(NoProxy.parse("parentProxyBypass", noProxy));
    this.bypassText = bypassText == null ? noProxy : bypassText + "," + noProxy;
    return this;
  }

  /**
   * Takes the parent proxy from the process environment at {@code build()}: {@code http_proxy} for
   * plain requests, {@code https_proxy} (or {@code HTTPS_PROXY}) for {@code CONNECT}, {@code no_proxy}
   * (or {@code NO_PROXY}) for the bypass list. As curl does, upper-case {@code HTTP_PROXY} is ignored
   * (it can be injected through a request's {@code Proxy} header in CGI environments). Unset variables
   * mean direct.
   */
  public ForwardProxyBuilder parentProxyFromEnvironment() {
    return parentProxyFromEnvironment(System.getenv());
  }

  /** As {@link #parentProxyFromEnvironment()}, reading {@code environment} instead of the process's. */
  public ForwardProxyBuilder parentProxyFromEnvironment(Map<String, String> environment) {
    this.environment = Map.copyOf(Objects.requireNonNull(environment, "environment"));
    return this;
  }

  /**
   * Time a {@code CONNECT} tunnel may carry no byte in either direction before both sides are closed.
   *
   * @implSpec Defaults to 5 minutes.
   */
  public ForwardProxyBuilder tunnelIdleTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "tunnelIdleTimeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("tunnelIdleTimeout: " + timeout + " (expected: > 0)");
    }
    this.tunnelIdleTimeout = timeout;
    return this;
  }

  /**
   * Intercepts TLS inside {@code CONNECT} tunnels (see {@link TlsInterception}): the proxy answers the
   * client's handshake with a certificate from {@code interception}'s CA and sends the decrypted
   * requests through the filters, the egress policy and the access log, to the real server over
   * verified TLS. Tunnels that go through a parent proxy cannot be intercepted ({@code build()} refuses
   * the combination).
   */
  public ForwardProxyBuilder intercept(TlsInterception interception) {
    this.interception = Objects.requireNonNull(interception, "intercept");
    return this;
  }

  /**
   * Decides each request by the rules of the user who sent it, instead of one {@link #egress} policy
   * for everyone: contractors may reach an allow-list, engineers everything public. Needs {@link
   * #proxyAuthentication}; {@code policies} is asked after each successful authentication (it may look
   * the user's group up asynchronously). The rules' name is put before every decision's rule, so a
   * denial names both the user (access-log field {@code user}) and the rule ({@code contractors: default
   * deny (...)}); the policy is under {@link ForwardProxy#USER_POLICY} for the filters. With {@link
   * #intercept}, a {@link UserPolicy} may also choose which of the user's tunnels are decrypted.
   */
  public ForwardProxyBuilder userPolicies(UserPolicies policies) {
    this.userPolicies = Objects.requireNonNull(policies, "userPolicies");
    return this;
  }

  @Override
  public ForwardProxyBuilder via(@Nullable String pseudonym) {
    super.via(pseudonym);
    this.viaSet = true;
    this.viaValue = pseudonym;
    return this;
  }

  @Override
  public ForwardProxyBuilder forwardedHeaders(ForwardedHeaders mode) {
    super.forwardedHeaders(mode);
    this.forwardedSet = true;
    this.forwardedValue = mode;
    return this;
  }

  /**
   * Builds the proxy.
   *
   * @throws IllegalStateException when settings conflict: {@code anonymous()} with a {@code via}
   *     pseudonym or with forwarded headers, {@code parentProxy} with {@code parentProxyFromEnvironment},
   *     a bypass list without a parent proxy, {@code intercept} with a parent proxy for tunnels, {@code
   *     userPolicies} without {@code proxyAuthentication} or with {@code egress}; when an
   *     environment variable cannot be parsed; or when interception is configured and a library it needs
   *     is missing (the message names the artifact)
   */
  @Override
  public ProxyServer build() {
    if (anonymous) {
      if (viaSet && viaValue != null) {
        throw new IllegalStateException("via: \"" + viaValue + "\" conflicts with anonymous() (expected: via(null) "
            + "or no via setting with anonymous())");
      }
      if (forwardedSet && forwardedValue != ForwardedHeaders.NONE) {
        throw new IllegalStateException("forwardedHeaders: " + forwardedValue + " conflicts with anonymous() "
            + "(expected: NONE or no forwardedHeaders setting with anonymous())");
      }
      super.via(null);
      super.forwardedHeaders(ForwardedHeaders.NONE);
    }
    ParentProxy http = parentHttp;
    ParentProxy connect = parentConnect;
    NoProxy noProxy = bypass;
    if (environment != null) {
      if (http != null) {
        throw new IllegalStateException("parentProxy: " + http + " conflicts with parentProxyFromEnvironment() "
            + "(expected: one of them)");
      }
      String h = environment.get("http_proxy");
      String s = env("https_proxy");
      String n = env("no_proxy");
      try {
        http = blank(h) ? null : ParentProxy.parse("http_proxy", h);
        connect = blank(s) ? null : ParentProxy.parse("https_proxy", s);
        if (!blank(n)) {
          noProxy = noProxy.and(NoProxy.parse("no_proxy", n));
        }
      } catch (IllegalArgumentException e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
    } else if (bypassText != null && http == null) {
      throw new IllegalStateException("parentProxyBypass: \"" + bypassText + "\" without a parent proxy "
          + "(expected: parentProxy(...) or parentProxyFromEnvironment() as well)");
    }
    if (userPolicies != null) {
      if (authenticator == null) {
        throw new IllegalStateException("userPolicies: set without proxyAuthentication (expected: "
            + "proxyAuthentication(...) as well, so that requests have a user)");
      }
      if (egressSet) {
        throw new IllegalStateException("userPolicies conflicts with egress(...) (expected: one of them; every "
            + "request is decided by its user's UserPolicy)");
      }
    }
    Interception intercepting = null;
    if (interception != null) {
      if (connect != null) {
        throw new IllegalStateException("intercept: " + interception + " conflicts with the parent proxy " + connect
            + " (expected: one of them; intercepted tunnels connect to the servers directly)");
      }
      OptionalDependencies.requireInterception("intercept");
      CertificateAuthority ca = interception.authority();
      intercepting = new Interception(ca.certificate(), ca.privateKey(), interception.leafKey().algorithm(),
          interception.leafValidity(), interception.leafCacheSize(), interception.clock(),
          interception.upstreamTrust(), interception.unverified(), interception.policy(),
          interception.nonTls() == TlsInterception.NonTls.TUNNEL);
    }
    ForwardSettings settings = new ForwardSettings(egress, resolver, realm, authenticator, anonymous,
        List.copyOf(stripped), transparent, http, connect, noProxy, tunnelIdleTimeout, userPolicies);
    dev.gatehouse.proxy.cache.HttpCache cache = cacheForTerminal();
    ForwardSteps steps = new ForwardSteps(settings, intercepting, cache);
    ProxyRuntime server = buildServer(List.of(steps.gate()), steps.terminal(), "forward");
    steps.attach(server);
    return server;
  }

  private String env(String lower) {
    String v = environment.get(lower);
    return v != null ? v : environment.get(lower.toUpperCase(Locale.ROOT));
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
