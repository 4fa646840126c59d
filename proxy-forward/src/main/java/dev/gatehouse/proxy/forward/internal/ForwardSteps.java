package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.cache.HttpCache;
import dev.gatehouse.proxy.events.Decisions;
import dev.gatehouse.proxy.forward.EgressDecision;
import dev.gatehouse.proxy.forward.EgressPolicy;
import dev.gatehouse.proxy.forward.ForwardProxy;
import dev.gatehouse.proxy.forward.UserPolicy;
import dev.gatehouse.proxy.forward.internal.mitm.Interception;
import dev.gatehouse.proxy.spi.CacheStep;
import dev.gatehouse.proxy.spi.CidrSet;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.Exchange;
import dev.gatehouse.proxy.spi.ExchangeFilter;
import dev.gatehouse.proxy.spi.HeaderField;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import dev.gatehouse.proxy.spi.Terminal;
import dev.gatehouse.proxy.spi.Tunnels;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The forward proxy's two steps: the gate, before the builder's filters (target, authentication,
 * anonymising, egress decision), and the terminal, after them (carry out the decision: 403, forward, or
 * tunnel).
 */
public final class ForwardSteps {
  private static final Logger log = LoggerFactory.getLogger(ForwardSteps.class);
  static final AttributeKey<Target> TARGET = AttributeKey.of("forwardTarget");

  private final ForwardSettings settings;
  private final InterceptedTunnels intercepted;
  private final String challenge;
  private final HttpCache cache;
  private CacheStep cacheStep;
  private Tunnels tunnels;

  public ForwardSteps(ForwardSettings settings) {
    this(settings, null, null);
  }

  /**
   * With TLS interception when {@code interception} is not null, and {@code cache} in front of the
   * plain-HTTP requests the policy allowed (null for none).
   */
  public ForwardSteps(ForwardSettings settings, Interception interception, HttpCache cache) {
    this.settings = settings;
    this.cache = cache;
    this.intercepted = interception == null ? null : new InterceptedTunnels(settings, interception);
    this.challenge = settings.realm() == null ? null : "Basic realm=\"" + settings.realm() + "\", charset=\"UTF-8\"";
  }

  /** The gate, before the builder's filters. */
  public ExchangeFilter gate() {
    return new ExchangeFilter() {
      @Override
      public CompletionStage<ProxyResponse> filter(Exchange exchange, Chain chain) {
        return gate(exchange, chain);
      }

      @Override
      public String toString() {
        return "forward-proxy gate";
      }
    };
  }

  /** The terminal, after them. */
  public Terminal terminal() {
    return this::terminal;
  }

  /** Joins the built server: its tunnels and cache, and the interception's use of its threads and pools. */
  public void attach(ProxyRuntime runtime) {
    this.tunnels = runtime.tunnels();
    this.cacheStep = cache == null ? null : runtime.cacheStep(cache);
    if (intercepted != null) {
      intercepted.attach(runtime);
    }
  }

  // ---------------------------------------------------------------- gate

  private CompletionStage<ProxyResponse> gate(Exchange ex, Chain chain) {
    InterceptedTunnel tunnel = intercepted == null ? null : ex.connectionAttribute(InterceptedTunnel.KEY).orElse(null);
    if (tunnel != null) {
      return intercepted.gate(ex, tunnel, chain); // decrypted from a tunnel the client authenticated for
    }
    Target target;
    try {
      target = Target.of(ex, settings.transparent());
    } catch (Target.BadTarget e) {
      log.debug("{}: 400 {}", ex, e.getMessage());
      ex.closeConnectionAfterResponse();
      return done(ProxyResponse.of(400, "Bad Request: " + e.getMessage() + "\n"));
    }
    ex.attribute(TARGET, target);
    if (settings.authenticator() == null) {
      return decide(ex, target, chain);
    }
    Credentials credentials = basicCredentials(ex.proxyAuthorization());
    if (credentials == null) {
      return done(challenge(ex));
    }
    CompletionStage<Boolean> check = settings.authenticator().authenticate(credentials.user(), credentials.password(), ex);
    if (check == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("proxy authenticator returned null"));
    }
    return check.thenCompose(ok -> {
      if (!Boolean.TRUE.equals(ok)) {
        log.debug("{}: wrong proxy credentials for user {}", ex, credentials.user());
        return done(challenge(ex));
      }
      ex.attribute(AccessLog.USER, credentials.user());
      return decide(ex, target, chain);
    });
  }

  private ProxyResponse challenge(Exchange ex) {
    ProxyResponse r = ProxyResponse.of(407, "Proxy Authentication Required\n");
    r.headers().set("Proxy-Authenticate", challenge);
    return r;
  }

  /** A {@code Basic} credential's parts. */
  record Credentials(String user, String password) {}

  /** User and password from {@code Basic base64(user:password)}, or null. */
  static @Nullable Credentials basicCredentials(@Nullable String header) {
    if (header == null) {
      return null;
    }
    String h = header.trim();
    if (h.length() < 6 || !h.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(h.substring(6).trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return null;
    }
    int colon = decoded.indexOf(':');
    if (colon <= 0) {
      return null;
    }
    return new Credentials(decoded.substring(0, colon), decoded.substring(colon + 1));
  }

  private CompletionStage<ProxyResponse> decide(Exchange ex, Target target, Chain chain) {
    if (settings.anonymous()) {
      for (String h : dev.gatehouse.proxy.forward.ForwardProxyBuilder.ANONYMOUS_STRIPPED) {
        ex.request().headers().remove(h);
      }
      for (String h : settings.alsoStripped()) {
        ex.request().headers().remove(h);
      }
    }
    if (settings.userPolicies() != null) {
      String user = ex.attribute(AccessLog.USER).orElseThrow(); // build() requires authentication
      CompletionStage<UserPolicy> lookup = settings.userPolicies().lookup(user, ex);
      if (lookup == null) {
        return CompletableFuture.failedFuture(new IllegalStateException("userPolicies returned null for " + user));
      }
      return lookup.thenCompose(p -> {
        if (p == null) {
          return CompletableFuture.failedFuture(new IllegalStateException("userPolicies found no policy for " + user));
        }
        ex.attribute(ForwardProxy.USER_POLICY, p);
        return decide(ex, target, chain, p.egress());
      });
    }
    EgressPolicy policy = settings.egress().get();
    if (policy == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("egress policy supplier returned null"));
    }
    return decide(ex, target, chain, policy);
  }

  private CompletionStage<ProxyResponse> decide(Exchange ex, Target target, Chain chain, EgressPolicy policy) {
    InetSocketAddress local = ex.localAddress();
    if (settings.parentFor(target) != null) {
      // The parent resolves the name: check names, ports and IP literals here.
      return proceed(ex, policy.check(target.host(), target.port(), null, target.connect()), chain);
    }
    byte[] literal = CidrSet.parseLiteral(target.host());
    if (literal != null) {
      InetAddress address;
      try {
        address = InetAddress.getByAddress(literal);
      } catch (UnknownHostException e) {
        return CompletableFuture.failedFuture(e);
      }
      return proceed(ex, decide(policy, target, List.of(address), local), chain);
    }
    // DNS blocks: resolve on the blocking executor, once; the decision is for what it answered.
    CompletableFuture<EgressDecision> resolved = CompletableFuture.supplyAsync(() -> {
      List<InetAddress> addresses;
      try {
        addresses = settings.resolver().resolve(target.host());
      } catch (UnknownHostException e) {
        throw new CompletionException(new UpstreamConnectException("cannot resolve " + target.host(), e));
      } catch (RuntimeException e) {
        throw new CompletionException(new UpstreamConnectException("cannot resolve " + target.host() + ": " + e, e));
      }
      if (addresses == null || addresses.isEmpty()) {
        throw new CompletionException(new UpstreamConnectException("cannot resolve " + target.host()
            + ": no addresses", null));
      }
      return decide(policy, target, addresses, local);
    }, ex.blockingExecutor());
    return resolved.thenCompose(d -> proceed(ex, d, chain));
  }

  /** Decides each address in turn; the first allowed one is where the proxy connects. */
  private static EgressDecision decide(EgressPolicy policy, Target t, List<InetAddress> addresses,
      InetSocketAddress local) {
    EgressDecision first = null;
    for (InetAddress a : addresses) {
      EgressDecision d = policy.check(t.host(), t.port(), a, t.connect());
      if (d.allowed() && isThisProxy(a, t.port(), local)) {
        d = EgressDecision.of(false, "loop: " + a.getHostAddress() + ":" + t.port() + " is this proxy", d.host(),
            t.port(), a);
      }
      if (d.allowed()) {
        return d;
      }
      if (first == null) {
        first = d;
      }
    }
    return first;
  }

  /** Whether {@code address:port} is where this proxy listens (a request to it would loop). */
  static boolean isThisProxy(InetAddress address, int port, InetSocketAddress local) {
    if (local == null || port != local.getPort()) {
      return false;
    }
    if (address.isLoopbackAddress() || address.isAnyLocalAddress() || address.equals(local.getAddress())) {
      return true;
    }
    try {
      return NetworkInterface.getByInetAddress(address) != null;
    } catch (SocketException e) {
      return false;
    }
  }

  static CompletionStage<ProxyResponse> proceed(Exchange ex, EgressDecision decision, Chain chain) {
    UserPolicy user = ex.attribute(ForwardProxy.USER_POLICY).orElse(null);
    EgressDecision d = user == null ? decision : EgressDecision.of(decision.allowed(), user.name() + ": "
        + decision.rule(), decision.host(), decision.port(), decision.address().orElse(null));
    ex.attribute(ForwardProxy.EGRESS_DECISION, d);
    ex.attribute(AccessLog.POLICY_DECISION, d.allowed() ? "allow" : "deny");
    ex.attribute(AccessLog.POLICY_RULE, d.rule());
    Decisions.report(ex, Decisions.EGRESS, d.allowed() ? "allow" : "deny", d.rule());
    if (!d.allowed()) {
      log.debug("{}{}: {}", ex, ex.attribute(AccessLog.USER).map(u -> " of user " + u).orElse(""), d);
    }
    return chain.proceed();
  }

  // ---------------------------------------------------------------- terminal

  private CompletionStage<ProxyResponse> terminal(Exchange ex) {
    EgressDecision d = ex.attribute(ForwardProxy.EGRESS_DECISION).orElseThrow();
    if (!d.allowed()) {
      return done(ProxyResponse.of(403, "Forbidden by egress policy: " + d.rule() + "\n"));
    }
    InterceptedTunnel tunnel = ex.attribute(InterceptedTunnels.TUNNEL).orElse(null);
    if (tunnel != null) {
      // decrypted from an intercepted tunnel: cached as plain HTTP is, keyed by https://<the tunnel's target>
      // (the gate answered 421 to a Host other than the target's, so no other host's key can be filled)
      if (cacheStep != null) {
        return cacheStep.handle(ex, x -> intercepted.terminal(x, tunnel, d));
      }
      return intercepted.terminal(ex, tunnel, d);
    }
    Target t = ex.attribute(TARGET).orElseThrow();
    ParentProxy parent = settings.parentFor(t);
    if (t.connect()) {
      if (intercepted != null && parent == null && intercepted.candidate(ex, t)) {
        return intercepted.open(ex, t, d, tunnels);
      }
      if (parent == null) {
        return tunnels.open(ex, new InetSocketAddress(d.address().orElseThrow(), t.port()), settings.tunnelIdleTimeout());
      }
      return tunnels.openThroughParent(ex, parent.endpoint(), t.authority(), parent.authorization(),
          settings.tunnelIdleTimeout());
    }
    if (cacheStep != null) {
      // after authentication, the egress decision and every filter: a hit is served only where allowed
      return cacheStep.handle(ex, x -> forwardHttp(x, t, d, parent));
    }
    return forwardHttp(ex, t, d, parent);
  }

  /** Sends a plain-HTTP request to its destination, directly or through the parent proxy. */
  private static CompletionStage<ProxyResponse> forwardHttp(Exchange ex, Target t, EgressDecision d,
      ParentProxy parent) {
    if (t.absolute()) {
      ex.request().headers().set("Host", t.authority()); // RFC 9112 §3.2.2: the target wins over Host
    }
    if (parent == null) {
      InetAddress a = d.address().orElseThrow();
      return ex.forwardTo(new Endpoint("http", t.host(), t.port(), new InetSocketAddress(a, t.port())));
    }
    String absolute = "http://" + t.authority() + ex.request().pathAndQuery();
    CompletionStage<ProxyResponse> stage = parent.authorization() == null
        ? ex.forwardTo(parent.endpoint(), absolute, List.of())
        : ex.forwardTo(parent.endpoint(), absolute, List.of(new HeaderField("Proxy-Authorization",
            parent.authorization())));
    return stage.thenApply(r -> {
      if (r.status() == 407) {
        log.warn("parent proxy {} refused this proxy's credentials (407)", parent);
        return ProxyResponse.of(502, "Bad Gateway: the parent proxy refused this proxy's credentials\n");
      }
      return r;
    });
  }

  static CompletionStage<ProxyResponse> done(ProxyResponse r) {
    return CompletableFuture.completedFuture(r);
  }
}
