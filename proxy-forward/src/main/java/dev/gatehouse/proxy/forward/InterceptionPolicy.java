package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.CheckReturnValue;
import dev.gatehouse.proxy.forward.internal.HostPattern;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Which {@code CONNECT} tunnels {@linkplain TlsInterception TLS interception} opens: an intercept list
 * and a bypass list of host patterns, checked against the {@code CONNECT} target and against the name
 * the client's TLS asks for (SNI), so that a tunnel to an IP address is still recognised by name.
 * Immutable: every method returns a new policy.
 *
 * <pre>{@code
 * InterceptionPolicy.interceptAll()
 *     .bypass("*.bank.example", "health.example", "pinned-app.example.com")   // never decrypted
 * InterceptionPolicy.interceptNone()
 *     .intercept("*.example.com")                                            // only these
 * }</pre>
 *
 * <p>In this order, the first step that decides wins: a bypass pattern matching the target or the SNI:
 * not intercepted; with {@link #interceptAll()}: intercepted; an intercept pattern matching the target
 * or the SNI: intercepted; else not intercepted. A tunnel that is not intercepted stays an opaque tunnel,
 * exactly as without interception. Patterns are those of {@link EgressPolicy#allowHosts}: {@code
 * example.com}, {@code *.example.com}, an IP address, each optionally with {@code :port}.
 */
@CheckReturnValue
public final class InterceptionPolicy {
  private static final InterceptionPolicy ALL = new InterceptionPolicy(true, List.of(), List.of());
  private static final InterceptionPolicy NONE = new InterceptionPolicy(false, List.of(), List.of());

  private final boolean all;
  private final List<HostPattern> intercept;
  private final List<HostPattern> bypass;

  private InterceptionPolicy(boolean all, List<HostPattern> intercept, List<HostPattern> bypass) {
    this.all = all;
    this.intercept = intercept;
    this.bypass = bypass;
  }

  /** Intercepts every tunnel not on the bypass list. The default of {@link TlsInterception}. */
  public static InterceptionPolicy interceptAll() {
    return ALL;
  }

  /** Intercepts only the tunnels on the intercept list. */
  public static InterceptionPolicy interceptNone() {
    return NONE;
  }

  /**
   * Adds hosts to intercept (meaningful with {@link #interceptNone()}).
   *
   * @throws IllegalArgumentException naming the pattern that cannot be parsed
   */
  public InterceptionPolicy intercept(String... hostPatterns) {
    List<HostPattern> l = new ArrayList<>(intercept);
    l.addAll(parse("intercept", hostPatterns));
    return new InterceptionPolicy(all, List.copyOf(l), bypass);
  }

  /**
   * Adds hosts never to intercept: sites whose traffic must stay private (banks, health), and apps that
   * pin their certificates (they refuse any certificate but their own). Wins over the intercept list.
   *
   * @throws IllegalArgumentException naming the pattern that cannot be parsed
   */
  public InterceptionPolicy bypass(String... hostPatterns) {
    List<HostPattern> l = new ArrayList<>(bypass);
    l.addAll(parse("bypass", hostPatterns));
    return new InterceptionPolicy(all, intercept, List.copyOf(l));
  }

  private static List<HostPattern> parse(String setting, String[] patterns) {
    Objects.requireNonNull(patterns, setting);
    List<HostPattern> out = new ArrayList<>();
    for (String p : patterns) {
      out.add(HostPattern.host(setting, p));
    }
    return out;
  }

  /**
   * Decides one tunnel.
   *
   * @param host the {@code CONNECT} target host (name or IP literal, lower case)
   * @param port the {@code CONNECT} target port
   * @param serverName the name the client's TLS asked for (SNI), or {@code null} when unknown or absent
   */
  public InterceptionDecision check(String host, int port, @Nullable String serverName) {
    Objects.requireNonNull(host, "host");
    String h = EgressPolicy.normalize(host);
    String sni = serverName == null ? null : EgressPolicy.normalize(serverName);
    for (HostPattern p : bypass) {
      if (p.matches(h, null, port)) {
        return new InterceptionDecision(false, "bypass " + p);
      }
      if (sni != null && p.matches(sni, null, port)) {
        return new InterceptionDecision(false, "bypass " + p + " (TLS server name " + sni + ")");
      }
    }
    if (all) {
      return new InterceptionDecision(true, "intercept all");
    }
    for (HostPattern p : intercept) {
      if (p.matches(h, null, port) || (sni != null && p.matches(sni, null, port))) {
        return new InterceptionDecision(true, "intercept " + p);
      }
    }
    return new InterceptionDecision(false, "not on the intercept list");
  }

  @Override
  public String toString() {
    return "InterceptionPolicy(" + (all ? "interceptAll" : "interceptNone") + ", intercept " + intercept
        + ", bypass " + bypass + ")";
  }
}
