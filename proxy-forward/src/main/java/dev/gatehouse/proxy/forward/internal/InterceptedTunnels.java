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
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.pool.CidrSet;
import dev.gatehouse.proxy.internal.pool.Endpoint;
import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.internal.tls.handover.ClientHello;
import dev.gatehouse.proxy.internal.tls.handover.ClientHelloReader;
import dev.gatehouse.proxy.internal.tls.handover.TlsHandover;
import dev.gatehouse.proxy.internal.upstream.CallOptions;
import io.undertow.conduits.BytesReceivedStreamSourceConduit;
import io.undertow.conduits.BytesSentStreamSinkConduit;
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
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoFuture;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

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

  private static final OptionMap CONNECT_OPTIONS = OptionMap.builder()
      .set(Options.TCP_NODELAY, true)
      .set(Options.KEEP_ALIVE, true)
      .getMap();

  private static final long SHUTDOWN_WAIT_MS = 5000;

  private final ForwardSettings settings;
  private final Interception interception;
  private final ConnectTunnels tunnels;
  private final Set<StreamConnection> open = ConcurrentHashMap.newKeySet();
  private volatile Engine engine;

  InterceptedTunnels(ForwardSettings settings, Interception interception, ConnectTunnels tunnels) {
    this.settings = settings;
    this.interception = interception;
    this.tunnels = tunnels;
  }

  void attach(Engine engine) {
    this.engine = engine;
    interception.attach(engine);
  }

  /** The interception policy for this exchange's user. */
  private InterceptionPolicy policy(ExchangeImpl ex) {
    return ex.attribute(ForwardProxy.USER_POLICY).flatMap(UserPolicy::interception).orElse(interception.policy());
  }

  /**
   * Whether a tunnel to {@code t} may be intercepted: false when its target alone decides against it
   * (it is then an opaque tunnel from the start, noted in the access log). A tunnel to an IP address
   * that is not intercepted by its address waits for the SNI, which may name an intercepted host.
   */
  boolean candidate(ExchangeImpl ex, Target t) {
    InterceptionDecision d = policy(ex).check(t.host(), t.port(), null);
    if (d.intercept() || (!d.rule().startsWith("bypass ") && CidrSet.parseLiteral(t.host()) != null)) {
      return true;
    }
    note(ex, "tls not intercepted (" + d.rule() + ")");
    return false;
  }

  private static void note(ExchangeImpl ex, String what) {
    ex.attribute(AccessLog.POLICY_RULE, ex.attribute(AccessLog.POLICY_RULE).map(r -> r + "; ").orElse("") + what);
  }

  // ---------------------------------------------------------------- the CONNECT

  /** One tunnel from the {@code 200} on: the client connection, what it moved, and its end. */
  private final class Connect {
    final ExchangeImpl ex;
    final Target target;
    final EgressDecision decision;
    StreamConnection client;
    /** A raw tunnel took over: it records the bytes and completes the exchange itself. */
    boolean raw;
    boolean completed;
    long bytesFromClient;
    long bytesToClient;

    Connect(ExchangeImpl ex, Target target, EgressDecision decision) {
      this.ex = ex;
      this.target = target;
      this.decision = decision;
    }

    /** Writes the tunnel's access-log line, once, when it is over. */
    void complete() {
      if (completed) {
        return;
      }
      completed = true;
      if (!raw) {
        ex.recordTunnelBytes(bytesFromClient, bytesToClient);
      }
      ex.engine().completeDeferred(ex);
      if (client != null) {
        synchronized (open) { // after the line is queued: a shutdown waiting for this can close the log
          open.remove(client);
          open.notifyAll();
        }
      }
    }
  }

  /** Answers the {@code CONNECT} with 200 and takes the client side over once the answer is out. */
  CompletionStage<ProxyResponse> open(ExchangeImpl ex, Target t, EgressDecision d) {
    HttpServerExchange hse = ex.hse();
    Connect c = new Connect(ex, t, d);
    hse.getConnection().addCloseListener(closed -> {
      if (!c.raw) {
        c.complete();
      }
    });
    hse.acceptConnectRequest((connection, exchange) -> {
      if (exchange.getStatusCode() / 100 != 2) {
        IoUtils.safeClose(connection); // a filter turned the 200 into something else: no tunnel
        c.complete();
        return;
      }
      c.client = connection;
      open.add(connection);
      long timeout = Math.max(1, ex.engine().config().requestHeaderTimeout().toMillis());
      ClientHelloReader.read(connection, timeout, new ClientHelloReader.Callback() {
        @Override
        public void onHello(ClientHello hello, ByteBuffer bytes) {
          switch (hello.kind()) {
            case TLS:
              tls(c, hello, bytes);
              return;
            case NOT_TLS:
              notTls(c, bytes, "not TLS");
              return;
            default:
              refuse(c, "malformed TLS: " + hello.problem());
          }
        }

        @Override
        public void onSilence() {
          notTls(c, ByteBuffer.allocate(0), "the client sent nothing within requestHeaderTimeout");
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

  /** A ClientHello: intercepted, or passed on unread when the policy says so for its SNI. */
  private void tls(Connect c, ClientHello hello, ByteBuffer bytes) {
    String sni = serverName(hello);
    InterceptionDecision d = policy(c.ex).check(c.target.host(), c.target.port(), sni);
    if (!d.intercept()) {
      tunnelRaw(c, bytes, "tls not intercepted (" + d.rule() + ")");
      return;
    }
    note(c.ex, "tls intercepted (" + d.rule() + ")");
    String user = c.ex.attribute(AccessLog.USER).orElse(null);
    UserPolicy userPolicy = c.ex.attribute(ForwardProxy.USER_POLICY).orElse(null);
    intercept(c, bytes, new InterceptedTunnel(c.target, c.decision, sni, user, userPolicy));
  }

  private void notTls(Connect c, ByteBuffer bytes, String what) {
    if (interception.tunnelNonTls()) {
      tunnelRaw(c, bytes, what + ", tunnelled");
    } else {
      refuse(c, what + ", refused");
    }
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

  private void refuse(Connect c, String why) {
    log.debug("{}: closing the tunnel: {}", c.ex, why);
    note(c.ex, why);
    c.bytesFromClient = 0;
    IoUtils.safeClose(c.client);
  }

  /**
   * Connects to the checked address and pipes bytes both ways, starting with what the client already
   * sent; as an opaque tunnel would have from the start.
   */
  private void tunnelRaw(Connect c, ByteBuffer bytes, String why) {
    note(c.ex, why);
    StreamConnection client = c.client;
    XnioIoThread thread = client.getIoThread();
    InetSocketAddress address = new InetSocketAddress(c.decision.address().orElseThrow(), c.target.port());
    IoFuture<StreamConnection> future;
    try {
      future = thread.openStreamConnection(address, null, CONNECT_OPTIONS);
    } catch (RuntimeException e) {
      log.debug("{}: cannot connect to {}: {}", c.ex, c.target.authority(), e.toString());
      IoUtils.safeClose(client);
      return;
    }
    long timeout = c.ex.engine().config().connectTimeout().toMillis();
    XnioExecutor.Key timer = thread.executeAfter(future::cancel, timeout, TimeUnit.MILLISECONDS);
    future.addNotifier((f, unused) -> thread.execute(() -> {
      timer.remove();
      StreamConnection dest = null;
      if (f.getStatus() == IoFuture.Status.DONE) {
        try {
          dest = f.get();
        } catch (java.io.IOException e) {
          dest = null;
        }
      }
      if (dest == null || !client.isOpen()) {
        log.debug("{}: cannot connect to {}: {}", c.ex, c.target.authority(),
            f.getStatus() == IoFuture.Status.FAILED ? f.getException().getMessage() : f.getStatus());
        note(c.ex, "connect failed");
        IoUtils.safeClose(dest);
        IoUtils.safeClose(client);
        return;
      }
      c.raw = true;
      tunnels.pipe(c.ex, client, dest, bytes.hasRemaining() ? bytes : null, null, c::complete);
    }), null);
  }

  /** Gets the certificate (minted off the I/O thread if needed), then hands the connection to the engine. */
  private void intercept(Connect c, ByteBuffer hello, InterceptedTunnel tunnel) {
    String name = tunnel.certificateName();
    CompletableFuture<Leaf> leaf = interception.leaf(name);
    if (leaf.isDone() && !leaf.isCompletedExceptionally()) {
      serve(c, hello, tunnel, leaf.join());
      return;
    }
    leaf.whenComplete((l, error) -> c.client.getIoThread().execute(() -> {
      if (error != null) {
        log.warn("{}: cannot make a certificate for {}: {}", c.ex, name, error.toString());
        IoUtils.safeClose(c.client);
      } else if (c.client.isOpen()) {
        serve(c, hello, tunnel, l);
      }
    }));
  }

  private void serve(Connect c, ByteBuffer hello, InterceptedTunnel tunnel, Leaf leaf) {
    StreamConnection client = c.client;
    String peer = String.valueOf(client.getPeerAddress());
    // count what the tunnel carries (TLS bytes, as for an opaque tunnel) for the CONNECT's log line
    c.bytesFromClient = hello.remaining();
    client.getSourceChannel().setConduit(new BytesReceivedStreamSourceConduit(client.getSourceChannel().getConduit(),
        n -> c.bytesFromClient += n));
    client.getSinkChannel().setConduit(new BytesSentStreamSinkConduit(client.getSinkChannel().getConduit(),
        n -> c.bytesToClient += n));
    try {
      TlsHandover.serve(engine, client, hello, leaf.context(), true,
          exchange -> exchange.putAttachment(InterceptedTunnel.KEY, tunnel),
          failure -> interception.clientHandshakeFailed(tunnel.certificateName(), peer, failure));
    } catch (RuntimeException failure) {
      log.warn("{}: cannot serve the intercepted tunnel", c.ex, failure);
      IoUtils.safeClose(client);
    }
  }

  /**
   * Closes every intercepted connection, each on its I/O thread (at shutdown, after in-flight requests
   * had their grace period), and waits a little for their access-log lines.
   */
  void closeAll() {
    for (StreamConnection c : new ArrayList<>(open)) {
      try {
        c.getIoThread().execute(() -> IoUtils.safeClose(c));
      } catch (RuntimeException e) {
        IoUtils.safeClose(c); // the I/O thread is gone already
      }
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SHUTDOWN_WAIT_MS);
    synchronized (open) {
      while (!open.isEmpty()) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          log.warn("{} intercepted connections still open after {} ms", open.size(), SHUTDOWN_WAIT_MS);
          return;
        }
        try {
          open.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
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
