package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.spi.CidrSet;
import java.net.InetAddress;
import java.util.List;

/**
 * Destinations a forward proxy refuses unless an address rule allows them: what a confused-deputy
 * (SSRF) attack aims at. More specific entries come first, so the rule names the most telling one.
 */
public final class SpecialAddresses {

  /** One reserved block and why it is refused. */
  public record Entry(String label, CidrSet.Block block) {
    @Override
    public String toString() {
      return label + " " + block.text();
    }
  }

  private static final List<Entry> ENTRIES = List.of(
      entry("cloud metadata", "169.254.169.254/32"),
      entry("cloud metadata", "fd00:ec2::254/128"),
      entry("loopback", "127.0.0.0/8"),
      entry("loopback", "::1/128"),
      entry("unspecified", "0.0.0.0/8"),
      entry("unspecified", "::/128"),
      entry("private", "10.0.0.0/8"),
      entry("private", "172.16.0.0/12"),
      entry("private", "192.168.0.0/16"),
      entry("shared address space", "100.64.0.0/10"),
      entry("link-local", "169.254.0.0/16"),
      entry("link-local", "fe80::/10"),
      entry("unique local", "fc00::/7"),
      entry("multicast", "224.0.0.0/4"),
      entry("multicast", "ff00::/8"),
      entry("reserved", "240.0.0.0/4"),
      entry("reserved", "192.0.0.0/24"),
      entry("IPv4-compatible", "::/96"),
      entry("NAT64", "64:ff9b::/96"));

  private SpecialAddresses() {}

  private static Entry entry(String label, String cidr) {
    return new Entry(label, CidrSet.parse(cidr, "special"));
  }

  /** The entry containing {@code address} (IPv4-mapped IPv6 counts as IPv4), or null for a public address. */
  public static Entry find(InetAddress address) {
    byte[] a = address.getAddress();
    for (Entry e : ENTRIES) {
      if (e.block().contains(a)) {
        return e;
      }
    }
    return null;
  }

  /** Names that always mean this machine (RFC 6761): refused like loopback addresses. */
  public static boolean isLoopbackName(String host) {
    return host.equals("localhost") || host.endsWith(".localhost");
  }
}
