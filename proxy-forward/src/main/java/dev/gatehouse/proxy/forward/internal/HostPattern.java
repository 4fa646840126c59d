package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.spi.CidrSet;
import java.net.InetAddress;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * One host rule of an egress policy: an exact name, a {@code *.suffix} wildcard, a regular expression,
 * an IP literal or a CIDR block, optionally limited to one port.
 */
public final class HostPattern {
  /** What the rule compares with. */
  public enum Kind { EXACT, SUFFIX, REGEX, ADDRESS }

  private final Kind kind;
  private final String text;
  private final String name;
  private final Pattern regex;
  private final CidrSet.Block block;
  private final int port;

  private HostPattern(Kind kind, String text, String name, Pattern regex, CidrSet.Block block, int port) {
    this.kind = kind;
    this.text = text;
    this.name = name;
    this.regex = regex;
    this.block = block;
    this.port = port;
  }

  private static IllegalArgumentException bad(String setting, String pattern, String expected) {
    return new IllegalArgumentException(setting + ": \"" + pattern + "\" (expected: " + expected + ")");
  }

  /**
   * Parses {@code example.com}, {@code *.example.com}, {@code 10.1.2.3}, {@code [::1]}, {@code ::1},
   * each optionally followed by {@code :port}.
   */
  public static HostPattern host(String setting, String pattern) {
    String expected = "a host name, *.domain or IP address, optionally with :port";
    if (pattern == null) {
      throw new NullPointerException(setting);
    }
    String s = pattern.trim().toLowerCase(Locale.ROOT);
    int port = -1;
    String host = s;
    if (s.startsWith("[")) {
      int end = s.indexOf(']');
      if (end < 0) {
        throw bad(setting, pattern, expected);
      }
      host = s.substring(1, end);
      String rest = s.substring(end + 1);
      if (!rest.isEmpty()) {
        if (!rest.startsWith(":")) {
          throw bad(setting, pattern, expected);
        }
        port = parsePort(setting, pattern, rest.substring(1));
      }
    } else {
      int first = s.indexOf(':');
      if (first >= 0 && first == s.lastIndexOf(':')) {
        host = s.substring(0, first);
        port = parsePort(setting, pattern, s.substring(first + 1));
      }
    }
    byte[] literal = CidrSet.parseLiteral(host);
    if (literal != null) {
      return new HostPattern(Kind.ADDRESS, pattern.trim(), null, null, CidrSet.parse(host, setting), port);
    }
    if (host.startsWith("*.")) {
      String suffix = host.substring(2);
      if (!isHostName(suffix)) {
        throw bad(setting, pattern, expected);
      }
      return new HostPattern(Kind.SUFFIX, pattern.trim(), "." + suffix, null, null, port);
    }
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    if (!isHostName(host)) {
      throw bad(setting, pattern, expected);
    }
    return new HostPattern(Kind.EXACT, pattern.trim(), host, null, null, port);
  }

  /** A CIDR block such as {@code 10.0.0.0/8} or an address. */
  public static HostPattern cidr(String setting, String cidr) {
    if (cidr == null) {
      throw new NullPointerException(setting);
    }
    return new HostPattern(Kind.ADDRESS, cidr.trim(), null, null, CidrSet.parse(cidr, setting), -1);
  }

  /** A Java regular expression that must match the whole host name, case-insensitively. */
  public static HostPattern regex(String setting, String regex) {
    if (regex == null) {
      throw new NullPointerException(setting);
    }
    try {
      return new HostPattern(Kind.REGEX, regex, null, Pattern.compile(regex, Pattern.CASE_INSENSITIVE), null, -1);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(setting + ": \"" + regex + "\" (expected: a Java regular expression; "
          + e.getDescription() + " near index " + e.getIndex() + ")");
    }
  }

  private static int parsePort(String setting, String pattern, String p) {
    int port = -1;
    if (!p.isEmpty() && p.length() <= 5 && p.chars().allMatch(c -> c >= '0' && c <= '9')) {
      port = Integer.parseInt(p);
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(setting + ": \"" + pattern + "\" (expected: a port 1-65535 after the host)");
    }
    return port;
  }

  /** Letters, digits, {@code -} and {@code _} in dot-separated labels of 1-63 characters. */
  public static boolean isHostName(String s) {
    if (s.isEmpty() || s.length() > 253) {
      return false;
    }
    int label = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '.') {
        if (label == 0) {
          return false;
        }
        label = 0;
        continue;
      }
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok || ++label > 63) {
        return false;
      }
    }
    return label > 0;
  }

  public Kind kind() {
    return kind;
  }

  /** Whether the rule names an address (IP literal or CIDR block), which may open a reserved range. */
  public boolean isAddress() {
    return kind == Kind.ADDRESS;
  }

  /** Whether the rule is limited to one port. */
  public boolean hasPort() {
    return port > 0;
  }

  /**
   * Whether the rule matches. Name rules look at {@code host}; address rules at {@code address}, or at
   * {@code host} when it is an IP literal and no address is known.
   */
  public boolean matches(String host, InetAddress address, int port) {
    if (this.port > 0 && this.port != port) {
      return false;
    }
    switch (kind) {
      case EXACT:
        return host.equals(name);
      case SUFFIX:
        return host.endsWith(name);
      case REGEX:
        return regex.matcher(host).matches();
      default:
        if (address != null) {
          return block.contains(address.getAddress());
        }
        byte[] literal = CidrSet.parseLiteral(host);
        return literal != null && block.contains(literal);
    }
  }

  @Override
  public String toString() {
    return kind == Kind.REGEX ? "matching " + text : text;
  }
}
