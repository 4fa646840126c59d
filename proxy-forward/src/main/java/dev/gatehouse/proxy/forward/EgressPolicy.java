package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.CheckReturnValue;
import dev.gatehouse.proxy.forward.internal.HostPattern;
import dev.gatehouse.proxy.forward.internal.SpecialAddresses;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * Which destinations the forward proxy may reach. Immutable: every method returns a new policy, so a
 * policy can be shared, and swapped at runtime as a whole (see {@link
 * ForwardProxyBuilder#egress(java.util.function.Supplier)}).
 *
 * <pre>{@code
 * EgressPolicy policy = EgressPolicy.denyAll()
 *     .allowHosts("api.github.com", "*.example.com")    // HTTP on any port, CONNECT on 443
 *     .allowHosts("build.internal.example.com:8443")    // this port only, CONNECT included
 *     .allowAddresses("10.20.0.0/16");                  // a private range, named explicitly
 * }</pre>
 *
 * <h2>How a request is decided</h2>
 *
 * The destination name is resolved once (see {@link HostResolver}) and the policy is checked against the
 * host name, the port and the resolved address; the proxy then connects to that very address. In this
 * order, the first step that decides wins:
 *
 * <ol>
 *   <li>a {@linkplain #denyHosts deny host} rule or {@linkplain #denyAddresses deny address} rule that
 *       matches: denied;
 *   <li>a <b>reserved address</b> (loopback, private RFC 1918 and unique-local, link-local, shared,
 *       multicast, unspecified, and the cloud metadata addresses {@code 169.254.169.254} and {@code
 *       fd00:ec2::254}), or the name {@code localhost}: denied, unless an <em>address</em> rule (an IP
 *       literal in {@link #allowHosts} or a block in {@link #allowAddresses}) allows it. A host-name
 *       rule never opens a reserved address, since whoever controls that name's DNS could point it
 *       anywhere;
 *   <li>with {@link #denyAll()}, no allow rule matches: denied;
 *   <li>the port: a rule with an explicit {@code :port} allows that port for plain requests and {@code
 *       CONNECT} alike; otherwise {@code CONNECT} needs one of the {@link #allowConnectPorts} (default
 *       443) and plain requests one of the {@link #allowPorts} (default any);
 *   <li>allowed.
 * </ol>
 *
 * Host names compare case-insensitively and without a trailing dot; {@code *.example.com} matches
 * every name below {@code example.com} but not {@code example.com} itself.
 */
@CheckReturnValue
public final class EgressPolicy {
  private static final int[] DEFAULT_CONNECT_PORTS = {443};

  private final boolean allowByDefault;
  private final List<HostPattern> allow;
  private final List<HostPattern> deny;
  private final int[] ports;
  private final int[] connectPorts;

  private EgressPolicy(boolean allowByDefault, List<HostPattern> allow, List<HostPattern> deny, int[] ports,
      int[] connectPorts) {
    this.allowByDefault = allowByDefault;
    this.allow = allow;
    this.deny = deny;
    this.ports = ports;
    this.connectPorts = connectPorts;
  }

  /**
   * Allows every public destination (plain HTTP on any port, {@code CONNECT} to 443) and refuses the
   * reserved addresses. The default of {@link ForwardProxy#builder()}.
   */
  public static EgressPolicy allowPublic() {
    return new EgressPolicy(true, List.of(), List.of(), null, DEFAULT_CONNECT_PORTS);
  }

  /** Allows nothing but what allow rules name (an allow-list, for zero-trust egress). */
  public static EgressPolicy denyAll() {
    return new EgressPolicy(false, List.of(), List.of(), null, DEFAULT_CONNECT_PORTS);
  }

  /**
   * Adds allow rules: {@code example.com}, {@code *.example.com}, an IP literal ({@code 10.1.2.3},
   * {@code [::1]}), each optionally with {@code :port}.
   *
   * @throws IllegalArgumentException naming the pattern that cannot be parsed
   */
  public EgressPolicy allowHosts(String... patterns) {
    return withAllow(parse("allowHosts", patterns));
  }

  /** Adds an allow rule: host names matching the Java regular expression {@code regex} as a whole. */
  public EgressPolicy allowHostsMatching(String regex) {
    return withAllow(List.of(HostPattern.regex("allowHostsMatching", regex)));
  }

  /**
   * Adds allow rules for destination addresses: CIDR blocks such as {@code 10.20.0.0/16} or single
   * addresses. These are the rules that can open reserved ranges (loopback, private, link-local).
   */
  public EgressPolicy allowAddresses(String... cidrs) {
    return withAllow(parseCidrs("allowAddresses", cidrs));
  }

  /** Adds deny rules, in the syntax of {@link #allowHosts}; deny rules win over allow rules. */
  public EgressPolicy denyHosts(String... patterns) {
    return withDeny(parse("denyHosts", patterns));
  }

  /** Adds a deny rule: host names matching the Java regular expression {@code regex} as a whole. */
  public EgressPolicy denyHostsMatching(String regex) {
    return withDeny(List.of(HostPattern.regex("denyHostsMatching", regex)));
  }

  /** Adds deny rules for destination addresses (CIDR blocks or single addresses). */
  public EgressPolicy denyAddresses(String... cidrs) {
    return withDeny(parseCidrs("denyAddresses", cidrs));
  }

  /**
   * The ports plain (non-{@code CONNECT}) requests may go to, unless a rule names its own port;
   * replaces the previous set.
   *
   * @implSpec Defaults to any port.
   */
  public EgressPolicy allowPorts(int... ports) {
    return new EgressPolicy(allowByDefault, allow, deny, checkPorts("allowPorts", ports), connectPorts);
  }

  /**
   * The ports {@code CONNECT} may open tunnels to, unless a rule names its own port; replaces the
   * previous set; none at all refuses every {@code CONNECT} that no rule with a port allows.
   *
   * @implSpec Defaults to 443 only, so that the proxy cannot tunnel to mail servers or SSH.
   */
  public EgressPolicy allowConnectPorts(int... ports) {
    return new EgressPolicy(allowByDefault, allow, deny, this.ports, checkPorts("allowConnectPorts", ports));
  }

  /**
   * Decides one destination.
   *
   * @param host the host as requested (name or IP literal, IPv6 with or without brackets)
   * @param port the destination port
   * @param address the address the proxy will connect to, or {@code null} when a parent proxy resolves
   *     the name (then only name rules and IP literals are checked)
   * @param connect whether this is a {@code CONNECT} tunnel
   */
  public EgressDecision check(String host, int port, @Nullable InetAddress address, boolean connect) {
    Objects.requireNonNull(host, "host");
    String h = normalize(host);
    for (HostPattern p : deny) {
      if (p.matches(h, address, port)) {
        return new EgressDecision(false, (p.isAddress() ? "deny address " : "deny host ") + p, h, port, address);
      }
    }
    HostPattern byAddress = null;
    HostPattern byName = null;
    for (HostPattern p : allow) {
      if (p.matches(h, address, port)) {
        if (p.isAddress()) {
          if (byAddress == null) {
            byAddress = p;
          }
        } else if (byName == null) {
          byName = p;
        }
      }
    }
    if (byAddress == null) {
      InetAddress checked = address;
      if (checked == null) {
        byte[] literal = dev.gatehouse.proxy.spi.CidrSet.parseLiteral(h);
        if (literal != null) {
          try {
            checked = InetAddress.getByAddress(literal);
          } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
          }
        }
      }
      if (checked != null) {
        SpecialAddresses.Entry special = SpecialAddresses.find(checked);
        if (special != null) {
          return new EgressDecision(false, "default deny " + special, h, port, address);
        }
      }
      if (SpecialAddresses.isLoopbackName(h)) {
        return new EgressDecision(false, "default deny loopback name " + h, h, port, address);
      }
    }
    HostPattern matched = byAddress != null ? byAddress : byName;
    if (matched == null && !allowByDefault) {
      return new EgressDecision(false, "default deny (no allow rule matches " + h + ":" + port + ")", h, port,
          address);
    }
    if (matched == null || !matched.hasPort()) {
      if (connect && !contains(connectPorts, port)) {
        return new EgressDecision(false, "deny connect port " + port + " (allowed: " + list(connectPorts) + ")", h,
            port, address);
      }
      if (!connect && ports != null && !contains(ports, port)) {
        return new EgressDecision(false, "deny port " + port + " (allowed: " + list(ports) + ")", h, port, address);
      }
    }
    if (matched == null) {
      return new EgressDecision(true, "default allow public", h, port, address);
    }
    return new EgressDecision(true, (matched.isAddress() ? "allow address " : "allow host ") + matched, h, port,
        address);
  }

  /** Lower case, no brackets, no trailing dot. */
  static String normalize(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    return h;
  }

  private EgressPolicy withAllow(List<HostPattern> more) {
    List<HostPattern> a = new ArrayList<>(allow);
    a.addAll(more);
    return new EgressPolicy(allowByDefault, List.copyOf(a), deny, ports, connectPorts);
  }

  private EgressPolicy withDeny(List<HostPattern> more) {
    List<HostPattern> d = new ArrayList<>(deny);
    d.addAll(more);
    return new EgressPolicy(allowByDefault, allow, List.copyOf(d), ports, connectPorts);
  }

  private static List<HostPattern> parse(String setting, String[] patterns) {
    Objects.requireNonNull(patterns, setting);
    List<HostPattern> out = new ArrayList<>();
    for (String p : patterns) {
      out.add(HostPattern.host(setting, p));
    }
    return out;
  }

  private static List<HostPattern> parseCidrs(String setting, String[] cidrs) {
    Objects.requireNonNull(cidrs, setting);
    List<HostPattern> out = new ArrayList<>();
    for (String c : cidrs) {
      out.add(HostPattern.cidr(setting, c));
    }
    return out;
  }

  private static int[] checkPorts(String setting, int[] ports) {
    Objects.requireNonNull(ports, setting);
    TreeSet<Integer> set = new TreeSet<>();
    for (int p : ports) {
      if (p < 1 || p > 65535) {
        throw new IllegalArgumentException(setting + ": " + p + " (expected: 1-65535)");
      }
      set.add(p);
    }
    return set.stream().mapToInt(Integer::intValue).toArray();
  }

  private static boolean contains(int[] sorted, int port) {
    return Arrays.binarySearch(sorted, port) >= 0;
  }

  private static String list(int[] ports) {
    if (ports.length == 0) {
      return "none";
    }
    StringBuilder sb = new StringBuilder();
    for (int p : ports) {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(p);
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return "EgressPolicy(" + (allowByDefault ? "allowPublic" : "denyAll") + ", allow " + allow + ", deny " + deny
        + ", ports " + (ports == null ? "any" : list(ports)) + ", connect ports " + list(connectPorts) + ")";
  }
}
