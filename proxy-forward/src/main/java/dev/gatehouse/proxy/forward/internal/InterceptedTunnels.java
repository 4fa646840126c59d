package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.forward.EgressDecision;
import dev.gatehouse.proxy.forward.EgressPolicy;
import dev.gatehouse.proxy.forward.ForwardProxy;
import dev.gatehouse.proxy.forward.ForwardProxyBuilder;
import dev.gatehouse.proxy.forward.InterceptionDecision;
import dev.gatehouse.proxy.forward.InterceptionPolicy;
import dev.gatehouse.proxy.forward.UserPolicy;
import dev.gatehouse.proxy.forward.internal.mitm.Interception;
import dev.gatehouse.proxy.forward.internal.mitm.Leaf;
import dev.gatehouse.proxy.forward.internal.mitm.UpstreamTrust;
import dev.gatehouse.proxy.spi.CallOptions;
import dev.gatehouse.proxy.spi.CidrSet;
import dev.gatehouse.proxy.spi.ClientHelloInfo;
import dev.gatehouse.proxy.spi.Endpoint;
import dev.gatehouse.proxy.spi.Exchange;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import dev.gatehouse.proxy.spi.TunnelInterception;
import dev.gatehouse.proxy.spi.TunnelPlan;
import dev.gatehouse.proxy.spi.Tunnels;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code CONNECT} tunnels the proxy intercepts: the decisions, while the engine does the I/O ({@link
 * Tunnels#intercept}). The client gets its {@code 200} at once; then the engine reads the client's first
 * bytes and asks {@link Decider}: a TLS ClientHello is answered by the proxy itself, with a certificate
 * for the requested name, and the decrypted connection is served by the engine like any other, each
 * request carrying the tunnel as its connection attribute; each request on it then passes {@link #gate}
 * and {@link #terminal}: the {@code Host} must be the tunnel's, the egress policy is asked again, and
 * the request goes to the {@code CONNECT} target over verified TLS.
 */
final class InterceptedTunnels {
  private static final Logger log = LoggerFactory.getLogger(InterceptedTunnels.class);
  /** The tunnel of a decrypted request, for the terminal. */
  static final AttributeKey<InterceptedTunnel> TUNNEL = AttributeKey.of("interceptedTunnel");

  private final ForwardSettings settings;
  private final Interception interception;

  InterceptedTunnels(ForwardSettings settings, Interception interception) {
    this.settings = settings;
    this.interception = interception;
  }

  void attach(ProxyRuntime runtime) {
    interception.attach(runtime);
  }

  /** The interception policy for this exchange's user. */
  private InterceptionPolicy policy(Exchange ex) {
    return ex.attribute(ForwardProxy.USER_POLICY).flatMap(UserPolicy::interception).orElse(interception.policy());
  }

  /**
   * Whether a tunnel to {@code t} may be intercepted: false when its target alone decides against it
   * (it is then an opaque tunnel from the start, noted in the access log). A tunnel to an IP address
   * that is not intercepted by its address waits for the SNI, which may name an intercepted host.
   */
  boolean candidate(Exchange ex, Target t) {
    InterceptionDecision d = policy(ex).check(t.host(), t.port(), null);
    if (d.intercept() || (!d.rule().startsWith("bypass ") && CidrSet.parseLiteral(t.host()) != null)) {
      return true;
    }
    note(ex, "tls not intercepted (" + d.rule() + ")");
    return false;
  }

  private static void note(Exchange ex, String what) {
    ex.attribute(AccessLog.POLICY_RULE, ex.attribute(AccessLog.POLICY_RULE).map(r -> r + "; ").orElse("") + what);
  }

  // ---------------------------------------------------------------- the CONNECT

  /**
   * Answers the {@code CONNECT} with 200; the engine then reads the client's first bytes and carries
   * out what {@link Decider} decides for them.
   */
  CompletionStage<ProxyResponse> open(Exchange ex, Target t, EgressDecision d, Tunnels tunnels) {
    return tunnels.intercept(ex, new Decider(ex, t, d), settings.tunnelIdleTimeout());
  }

  /** The decisions for one tunnel, made when the client's first bytes are in. */
  private final class Decider implements TunnelInterception {
    private final Exchange ex;
    private final Target target;
    private final EgressDecision decision;

    Decider(Exchange ex, Target target, EgressDecision decision) {
      this.ex = ex;
      this.target = target;
      this.decision = decision;
    }

    @Override
    public TunnelPlan onFirstBytes(ClientHelloInfo hello) {
      switch (hello.kind()) {
        case TLS:
          return tls(hello);
        case NOT_TLS:
          return notTls("not TLS");
        case SILENT:
          return notTls("the client sent nothing within requestHeaderTimeout");
        default:
          return refuse("malformed TLS: " + hello.problem());
      }
    }

    @Override
    public void passThroughFailed(String reason) {
      note(ex, "connect failed");
    }

    /** A ClientHello: intercepted, or passed on unread when the policy says so for its SNI. */
    private TunnelPlan tls(ClientHelloInfo hello) {
      String sni = serverName(hello.serverName());
      InterceptionDecision d = policy(ex).check(target.host(), target.port(), sni);
      if (!d.intercept()) {
        return passThrough("tls not intercepted (" + d.rule() + ")");
      }
      note(ex, "tls intercepted (" + d.rule() + ")");
      String user = ex.attribute(AccessLog.USER).orElse(null);
      UserPolicy userPolicy = ex.attribute(ForwardProxy.USER_POLICY).orElse(null);
      InterceptedTunnel tunnel = new InterceptedTunnel(target, decision, sni, user, userPolicy);
      String name = tunnel.certificateName();
      // the certificate is minted off the I/O thread when it is not cached
      CompletableFuture<SSLContext> context = interception.leaf(name).whenComplete((leaf, error) -> {
        if (error != null) {
          log.warn("{}: cannot make a certificate for {}: {}", ex, name, error.toString());
        }
      }).thenApply(Leaf::context);
      String peer = String.valueOf(ex.clientAddress());
      return TunnelPlan.serve(context, InterceptedTunnel.KEY, tunnel,
          failure -> interception.clientHandshakeFailed(name, peer, failure));
    }

    private TunnelPlan notTls(String what) {
      return interception.tunnelNonTls() ? passThrough(what + ", tunnelled") : refuse(what + ", refused");
    }

    /** The bytes go unread to the checked address, as an opaque tunnel's would have from the start. */
    private TunnelPlan passThrough(String why) {
      note(ex, why);
      return TunnelPlan.passThrough(new InetSocketAddress(decision.address().orElseThrow(), target.port()));
    }

    private TunnelPlan refuse(String why) {
      log.debug("{}: closing the tunnel: {}", ex, why);
      note(ex, why);
      return TunnelPlan.close();
    }
  }

  /** The SNI if it is a usable host name (lower case, no trailing dot), else null. */
  static String serverName(String name) {
    if (name == null) {
      return null;
    }
    String n = name.toLowerCase(Locale.ROOT);
    if (n.endsWith(".")) {
      n = n.substring(0, n.length() - 1);
    }
    return HostPattern.isHostName(n) && CidrSet.parseLiteral(n) == null ? n : null;
  }

  // ---------------------------------------------------------------- decrypted requests

  /**
   * A decrypted request: its {@code Host} must name the tunnel's target (and SNI), else 421; then the
   * same duties as any request (user, anonymising) and a fresh egress decision.
   */
  CompletionStage<ProxyResponse> gate(Exchange ex, InterceptedTunnel tunnel, Chain chain) {
    Target t = tunnel.target();
    if ("CONNECT".equals(ex.request().method())) {
      return ForwardSteps.done(ProxyResponse.of(400, "Bad Request: CONNECT inside an intercepted tunnel\n"));
    }
    HostPort inner = hostAndPort(ex.request().authority());
    if (inner == null) {
      return ForwardSteps.done(ProxyResponse.of(400, "Bad Request: no valid Host for an https request to "
          + t.authority() + "\n"));
    }
    boolean sameHost = sameHost(inner.host(), t.host()) && inner.port() == t.port();
    boolean sameName = tunnel.serverName() == null || sameHost(inner.host(), tunnel.serverName());
    if (!sameHost || !sameName) {
      log.debug("{}: Host {} is not the tunnel's {} (TLS server name {}): 421", ex, ex.request().authority(),
          t.authority(), tunnel.serverName());
      return ForwardSteps.done(ProxyResponse.of(421, "Misdirected Request: this connection is for "
          + t.authority() + (tunnel.serverName() != null && !tunnel.serverName().equals(t.host())
              ? " (TLS server name " + tunnel.serverName() + ")" : "")
          + ", not " + inner + "\n"));
    }
    ex.scheme("https");
    ex.attribute(TUNNEL, tunnel);
    if (tunnel.user() != null) {
      ex.attribute(AccessLog.USER, tunnel.user());
    }
    if (settings.anonymous()) {
      for (String h : ForwardProxyBuilder.ANONYMOUS_STRIPPED) {
        ex.request().headers().remove(h);
      }
      for (String h : settings.alsoStripped()) {
        ex.request().headers().remove(h);
      }
    }
    EgressPolicy policy;
    if (tunnel.userPolicy() != null) {
      ex.attribute(ForwardProxy.USER_POLICY, tunnel.userPolicy());
      policy = tunnel.userPolicy().egress();
    } else {
      policy = settings.egress().get();
      if (policy == null) {
        return CompletableFuture.failedFuture(new IllegalStateException("egress policy supplier returned null"));
      }
    }
    InetAddress address = tunnel.decision().address().orElse(null);
    return ForwardSteps.proceed(ex, policy.check(t.host(), t.port(), address, true), chain);
  }

  /** Sends an allowed decrypted request to the tunnel's target over TLS; a refused certificate becomes a 502 saying why. */
  CompletionStage<ProxyResponse> terminal(Exchange ex, InterceptedTunnel tunnel, EgressDecision d) {
    Target t = tunnel.target();
    InetAddress address = d.address().orElseThrow();
    Endpoint endpoint = new Endpoint("https", t.host(), t.port(), new InetSocketAddress(address, t.port()));
    CallOptions options = new CallOptions(null, null, null, null, 0, interception.upstreamPool(t.host(), t.port()),
        null, true);
    return ex.call(endpoint, options).response().exceptionallyCompose(error -> {
      String reason = UpstreamTrust.reasonIn(error);
      if (reason == null) {
        return CompletableFuture.failedFuture(error);
      }
      log.warn("{}: refusing the server {}: {}", ex, t.authority(), reason);
      return ForwardSteps.done(ProxyResponse.of(502, "Bad Gateway: " + printable(reason) + "\n"));
    });
  }

  /** A host (lower case, IPv6 without brackets) and a port. */
  record HostPort(String host, int port) {
    @Override
    public String toString() {
      return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /** The host and port of {@code host[:port]} (port 443 by default), or null if malformed. */
  static @Nullable HostPort hostAndPort(@Nullable String authority) {
    if (authority == null || authority.isEmpty()) {
      return null;
    }
    String host;
    String port = "443";
    if (authority.startsWith("[")) {
      int end = authority.indexOf(']');
      if (end < 0) {
        return null;
      }
      host = authority.substring(1, end);
      if (end + 1 < authority.length()) {
        if (authority.charAt(end + 1) != ':') {
          return null;
        }
        port = authority.substring(end + 2);
      }
      if (CidrSet.parseLiteral(host) == null) {
        return null;
      }
    } else {
      int colon = authority.indexOf(':');
      if (colon >= 0 && colon != authority.lastIndexOf(':')) {
        return null;
      }
      host = colon < 0 ? authority : authority.substring(0, colon);
      if (colon >= 0) {
        port = authority.substring(colon + 1);
      }
      host = host.toLowerCase(Locale.ROOT);
      if (host.endsWith(".")) {
        host = host.substring(0, host.length() - 1);
      }
      if (CidrSet.parseLiteral(host) == null && !HostPattern.isHostName(host)) {
        return null;
      }
    }
    if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return null;
    }
    int p = Integer.parseInt(port);
    if (p < 1 || p > 65535) {
      return null;
    }
    return new HostPort(host, p);
  }

  /** Host names compare case-insensitively; IP literals by address, however they are written. */
  static boolean sameHost(String a, String b) {
    byte[] x = CidrSet.parseLiteral(a);
    byte[] y = CidrSet.parseLiteral(b);
    if (x != null || y != null) {
      return x != null && y != null && Arrays.equals(x, y);
    }
    return a.equalsIgnoreCase(b);
  }

  /** Certificate contents come from the server: keep them to printable ASCII in the page. */
  static String printable(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      sb.append(c >= 0x20 && c < 0x7F ? c : '?');
    }
    return sb.toString();
  }
}
