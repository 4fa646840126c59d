package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.spi.CidrSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A bypass list in the {@code no_proxy} convention, as curl and most tools read it: comma- or
 * space-separated entries; {@code example.com} and {@code .example.com} both match the domain and
 * everything below it; {@code *} matches everything; an IP address or CIDR block matches IP-literal
 * hosts; {@code host:port} matches only that port.
 */
public final class NoProxy {
  private record Entry(String domain, CidrSet.Block block, int port, String text) {}

  private final List<Entry> entries;
  private final boolean all;

  private NoProxy(List<Entry> entries, boolean all) {
    this.entries = entries;
    this.all = all;
  }

  public static NoProxy none() {
    return new NoProxy(List.of(), false);
  }

  /** Parses a list; {@code setting} names the source in messages. */
  public static NoProxy parse(String setting, String list) {
    List<Entry> entries = new ArrayList<>();
    boolean all = false;
    for (String raw : list.split("[,\\s]+")) {
      String item = raw.trim().toLowerCase(Locale.ROOT);
      if (item.isEmpty()) {
        continue;
      }
      if (item.equals("*")) {
        all = true;
        continue;
      }
      int port = -1;
      String host = item;
      if (item.startsWith("[")) {
        int end = item.indexOf(']');
        if (end > 0) {
          host = item.substring(1, end);
          if (item.startsWith(":", end + 1)) {
            port = port(setting, raw, item.substring(end + 2));
          }
        }
      } else if (item.indexOf(':') > 0 && item.indexOf(':') == item.lastIndexOf(':')) {
        host = item.substring(0, item.indexOf(':'));
        port = port(setting, raw, item.substring(item.indexOf(':') + 1));
      }
      String addr = host.indexOf('/') > 0 ? host.substring(0, host.indexOf('/')) : host;
      if (CidrSet.parseLiteral(addr) != null) {
        entries.add(new Entry(null, CidrSet.parse(host, setting), port, raw));
        continue;
      }
      String domain = host.startsWith("*.") ? host.substring(2) : host.startsWith(".") ? host.substring(1) : host;
      if (!HostPattern.isHostName(domain)) {
        throw new IllegalArgumentException(setting + ": \"" + raw + "\" (expected: host names, .domains, IP addresses "
            + "or CIDR blocks, comma-separated, e.g. localhost,127.0.0.1,.corp.example.com)");
      }
      entries.add(new Entry(domain, null, port, raw));
    }
    return new NoProxy(List.copyOf(entries), all);
  }

  private static int port(String setting, String raw, String p) {
    try {
      int n = Integer.parseInt(p);
      if (n >= 1 && n <= 65535) {
        return n;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw new IllegalArgumentException(setting + ": \"" + raw + "\" (expected: a port 1-65535 after the host)");
  }

  public NoProxy and(NoProxy other) {
    List<Entry> e = new ArrayList<>(entries);
    e.addAll(other.entries);
    return new NoProxy(List.copyOf(e), all || other.all);
  }

  public boolean isEmpty() {
    return entries.isEmpty() && !all;
  }

  /** Whether {@code host} (normalised: lower case, no brackets) on {@code port} goes direct. */
  public boolean bypasses(String host, int port) {
    if (all) {
      return true;
    }
    byte[] literal = null;
    boolean literalChecked = false;
    for (Entry e : entries) {
      if (e.port > 0 && e.port != port) {
        continue;
      }
      if (e.domain != null) {
        if (host.equals(e.domain) || host.endsWith("." + e.domain)) {
          return true;
        }
      } else {
        if (!literalChecked) {
          literal = CidrSet.parseLiteral(host);
          literalChecked = true;
        }
        if (literal != null && e.block.contains(literal)) {
          return true;
        }
      }
    }
    return false;
  }

  @Override
  public String toString() {
    List<String> s = new ArrayList<>();
    if (all) {
      s.add("*");
    }
    for (Entry e : entries) {
      s.add(e.text);
    }
    return String.join(",", s);
  }
}
