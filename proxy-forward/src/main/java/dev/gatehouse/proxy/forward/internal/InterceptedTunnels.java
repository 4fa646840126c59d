package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.forward.EgressDecision;
import dev.gatehouse.proxy.forward.EgressPolicy;
import dev.gatehouse.proxy.forward.ForwardProxyBuilder;
import dev.gatehouse.proxy.forward.internal.mitm.Interception;
import dev.gatehouse.proxy.forward.internal.mitm.Leaf;
import dev.gatehouse.proxy.forward.internal.mitm.UpstreamTrust;
import dev.gatehouse.proxy.internal.CallOptions;
import dev.gatehouse.proxy.internal.CidrSet;
import dev.gatehouse.proxy.internal.Endpoint;
import dev.gatehouse.proxy.internal.Engine;
import dev.gatehouse.proxy.internal.ExchangeImpl;
import dev.gatehouse.proxy.internal.handover.ClientHello;
import dev.gatehouse.proxy.internal.handover.ClientHelloReader;
import dev.gatehouse.proxy.internal.handover.TlsHandover;
import io.undertow.server.HttpServerExchange;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;

/**
 * {@code CONNECT} tunnels the proxy intercepts. The client gets its {@code 200} at once; then the proxy
 * reads the client's first bytes. A TLS ClientHello is answered by the proxy itself, with a certificate
 * for the requested name, and the decrypted connection is served by the engine like any other (see
 * {@link TlsHandover}); each request on it then passes {@link #gate} and {@link #terminal}: the
 * {@code Host} must be the tunnel's, the egress policy is asked again, and the request goes to the
 * {@code CONNECT} target over verified TLS.
 */
final class InterceptedTunnels {
  private static final Logger log = LoggerFactory.getLogger(InterceptedTunnels.class);
  /** The tunnel of a decrypted request, for the terminal. */
  static final AttributeKey<InterceptedTunnel> TUNNEL = AttributeKey.of("interceptedTunnel");

  private final ForwardSettings settings;
  private final Interception interception;
  private final Set<StreamConnection> open = ConcurrentHashMap.newKeySet();
  private volatile Engine engine;

  InterceptedTunnels(ForwardSettings settings, Interception interception) {
    this.settings = settings;
    this.interception = interception;
  }

  void attach(Engine engine) {
    this.engine = engine;
    interception.attach(engine);
  }

  /** Whether a tunnel to {@code t} is a candidate for interception (decided finally on the client's SNI). */
  boolean candidate(Target t) {
    return true;
  }

  // ---------------------------------------------------------------- the CONNECT

  /** Answers the {@code CONNECT} with 200 and takes the client side over once the answer is out. */
  CompletionStage<ProxyResponse> open(ExchangeImpl ex, Target t, EgressDecision d) {
    HttpServerExchange hse = ex.hse();
    boolean[] handedOver = {false};
    boolean[] completed = {false};
    StreamConnection[] client = {null};
    Runnable completeOnce = () -> {
      if (!completed[0]) {
        completed[0] = true;
        if (client[0] != null) {
          open.remove(client[0]);
        }
        ex.engine().completeDeferred(ex);
      }
    };
    hse.getConnection().addCloseListener(c -> completeOnce.run());
    hse.acceptConnectRequest((connection, exchange) -> {
      if (exchange.getStatusCode() / 100 != 2) {
        IoUtils.safeClose(connection); // a filter turned the 200 into something else: no tunnel
        completeOnce.run();
        return;
      }
      handedOver[0] = true;
      client[0] = connection;
      open.add(connection);
      String user = ex.attribute(AccessLog.USER).orElse(null);
      long timeout = Math.max(1, ex.engine().config().requestHeaderTimeout().toMillis());
      ClientHelloReader.read(connection, timeout, new ClientHelloReader.Callback() {
        @Override
        public void onHello(ClientHello hello, ByteBuffer bytes) {
          switch (hello.kind()) {
            case TLS:
              intercept(ex, connection, bytes, new InterceptedTunnel(t, d, serverName(hello), user));
              return;
            case NOT_TLS:
              refuse(ex, connection, "not TLS");
              return;
            default:
              refuse(ex, connection, "malformed TLS: " + hello.problem());
          }
        }

        @Override
        public void onSilence() {
          refuse(ex, connection, "the client sent nothing");
        }

        @Override
        public void onGone(String reason) {
          log.debug("{}: {}", ex, reason);
        }
      });
    });
    hse.setPersistent(true);
    ex.deferCompletion();
    return CompletableFuture.completedFuture(ProxyResponse.of(200));
  }

  /** The SNI if it is a usable host name (lower case, no trailing dot), else null. */
  static String serverName(ClientHello hello) {
    String n = hello.serverName();
    if (n == null) {
      return null;
    }
    n = n.toLowerCase(Locale.ROOT);
    if (n.endsWith(".")) {
      n = n.substring(0, n.length() - 1);
    }
    return HostPattern.isHostName(n) && CidrSet.parseLiteral(n) == null ? n : null;
  }

  private void refuse(ExchangeImpl ex, StreamConnection client, String why) {
    log.debug("{}: closing the intercepted tunnel: {}", ex, why);
    ex.attribute(AccessLog.POLICY_RULE, ex.attribute(AccessLog.POLICY_RULE).orElse("") + "; refused: " + why);
    IoUtils.safeClose(client);
  }

  /** Gets the certificate (minted off the I/O thread if needed), then hands the connection to the engine. */
  private void intercept(ExchangeImpl ex, StreamConnection client, ByteBuffer hello, InterceptedTunnel tunnel) {
    String name = tunnel.certificateName();
    ex.attribute(AccessLog.POLICY_RULE, ex.attribute(AccessLog.POLICY_RULE).orElse("") + "; tls intercepted");
    CompletableFuture<Leaf> leaf = interception.leaf(name);
    if (leaf.isDone() && !leaf.isCompletedExceptionally()) {
      serve(ex, client, hello, tunnel, leaf.join());
      return;
    }
    leaf.whenComplete((l, error) -> client.getIoThread().execute(() -> {
      if (error != null) {
        log.warn("{}: cannot make a certificate for {}: {}", ex, name, error.toString());
        IoUtils.safeClose(client);
      } else if (client.isOpen()) {
        serve(ex, client, hello, tunnel, l);
      }
    }));
  }

  private void serve(ExchangeImpl ex, StreamConnection client, ByteBuffer hello, InterceptedTunnel tunnel, Leaf leaf) {
    Engine e = engine;
    String peer = String.valueOf(client.getPeerAddress());
    try {
      TlsHandover.serve(e, client, hello, leaf.context(), true,
          exchange -> exchange.putAttachment(InterceptedTunnel.KEY, tunnel),
          failure -> interception.clientHandshakeFailed(tunnel.certificateName(), peer, failure));
    } catch (RuntimeException failure) {
      log.warn("{}: cannot serve the intercepted tunnel", ex, failure);
      IoUtils.safeClose(client);
    }
  }

  /** Closes every intercepted connection (at shutdown, after in-flight requests had their grace period). */
  void closeAll() {
    for (StreamConnection c : new ArrayList<>(open)) {
      IoUtils.safeClose(c);
    }
  }

  // ---------------------------------------------------------------- decrypted requests

  /** The tunnel a decrypted request came through, or null for a request the listener received. */
  static InterceptedTunnel of(ExchangeImpl ex) {
    return ex.hse().getAttachment(InterceptedTunnel.KEY);
  }

  /**
   * A decrypted request: its {@code Host} must name the tunnel's target (and SNI), else 421; then the
   * same duties as any request (user, anonymising) and a fresh egress decision.
   */
  CompletionStage<ProxyResponse> gate(ExchangeImpl ex, InterceptedTunnel tunnel, Chain chain) {
    Target t = tunnel.target();
    if (ex.hse().getRequestMethod().equalToString("CONNECT")) {
      return ForwardSteps.done(ProxyResponse.of(400, "Bad Request: CONNECT inside an intercepted tunnel\n"));
    }
    String[] inner = hostAndPort(ex.request().authority());
    if (inner == null) {
      return ForwardSteps.done(ProxyResponse.of(400, "Bad Request: no valid Host for an https request to "
          + t.authority() + "\n"));
    }
    boolean sameHost = sameHost(inner[0], t.host()) && Integer.parseInt(inner[1]) == t.port();
    boolean sameName = tunnel.serverName() == null || sameHost(inner[0], tunnel.serverName());
    if (!sameHost || !sameName) {
      log.debug("{}: Host {} is not the tunnel's {} (TLS server name {}): 421", ex, ex.request().authority(),
          t.authority(), tunnel.serverName());
      return ForwardSteps.done(ProxyResponse.of(421, "Misdirected Request: this connection is for "
          + t.authority() + (tunnel.serverName() != null && !tunnel.serverName().equals(t.host())
              ? " (TLS server name " + tunnel.serverName() + ")" : "")
          + ", not " + hostText(inner) + "\n"));
    }
    ex.requestImpl().scheme("https");
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
    EgressPolicy policy = settings.egress().get();
    if (policy == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("egress policy supplier returned null"));
    }
    InetAddress address = tunnel.decision().address().orElse(null);
    return ForwardSteps.proceed(ex, policy.check(t.host(), t.port(), address, true), chain);
  }

  /** Sends an allowed decrypted request to the tunnel's target over TLS; a refused certificate becomes a 502 saying why. */
  CompletionStage<ProxyResponse> terminal(ExchangeImpl ex, InterceptedTunnel tunnel, EgressDecision d) {
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

  /** {@code {host, port}} of {@code host[:port]} (port 443 by default), lower case, or null if malformed. */
  static String[] hostAndPort(String authority) {
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
    return new String[] {host, Integer.toString(p)};
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

  private static String hostText(String[] hostPort) {
    String h = hostPort[0].indexOf(':') >= 0 ? "[" + hostPort[0] + "]" : hostPort[0];
    return h + ":" + hostPort[1];
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
