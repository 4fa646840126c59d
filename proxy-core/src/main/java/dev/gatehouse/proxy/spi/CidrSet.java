package dev.gatehouse.proxy.spi;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A set of IPv4/IPv6 address blocks. Parsing never resolves names: only IP literals with an optional
 * prefix length are accepted.
 */
public final class CidrSet {
  private static final CidrSet EMPTY = new CidrSet(List.of());
  private final List<Block> blocks;

  private CidrSet(List<Block> blocks) {
    this.blocks = blocks;
  }

  public static CidrSet empty() {
    return EMPTY;
  }

  /** Parses several blocks; {@code setting} names the builder setting in error messages. */
  public static CidrSet parseAll(List<String> cidrs, String setting) {
    if (cidrs.isEmpty()) {
      return EMPTY;
    }
    List<Block> blocks = new ArrayList<>();
    for (String c : cidrs) {
      blocks.add(parse(c, setting));
    }
    return new CidrSet(List.copyOf(blocks));
  }

  /** Parses one block such as {@code 10.0.0.0/8}, {@code ::1} or {@code fd00::/8}. */
  public static Block parse(String cidr, String setting) {
    String s = cidr.trim();
    int slash = s.indexOf('/');
    String addr = slash < 0 ? s : s.substring(0, slash);
    byte[] bytes = parseLiteral(addr);
    if (bytes == null) {
      throw new IllegalArgumentException(setting + ": " + cidr + " (expected: an IP address or CIDR block such as 10.0.0.0/8)");
    }
    int bits = bytes.length * 8;
    int prefix = bits;
    if (slash >= 0) {
      try {
        prefix = Integer.parseInt(s.substring(slash + 1));
      } catch (NumberFormatException e) {
        prefix = -1;
      }
      if (prefix < 0 || prefix > bits) {
        throw new IllegalArgumentException(setting + ": " + cidr + " (expected: a prefix length 0-" + bits + ")");
      }
    }
    return new Block(bytes, prefix, cidr);
  }

  /** Parses an IPv4 or IPv6 literal without any DNS lookup; null if it is not one. */
  public static byte @Nullable [] parseLiteral(String s) {
    if (s.startsWith("[") && s.endsWith("]")) {
      s = s.substring(1, s.length() - 1);
    }
    if (s.isEmpty()) {
      return null;
    }
    if (s.indexOf(':') >= 0) {
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        boolean ok = c == ':' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!ok) {
          return null;
        }
      }
      try {
        return InetAddress.getByName(s).getAddress(); // a literal: no lookup happens
      } catch (UnknownHostException e) {
        return null;
      }
    }
    // four dot-separated parts of 1-3 digits, each 0-255; by hand: the forward proxy asks for every
    // request's host, and split() cost an ArrayList, four strings and an array each time
    byte[] out = new byte[4];
    int part = 0;
    int digits = 0;
    int v = 0;
    for (int i = 0, n = s.length(); i <= n; i++) {
      char c = i == n ? '.' : s.charAt(i);
      if (c == '.') {
        if (digits == 0 || part == 4) {
          return null;
        }
        out[part++] = (byte) v;
        digits = 0;
        v = 0;
      } else if (c >= '0' && c <= '9' && digits < 3) {
        v = v * 10 + (c - '0');
        digits++;
        if (v > 255) {
          return null;
        }
      } else {
        return null;
      }
    }
    if (part != 4) {
      return null;
    }
    return out;
  }

  public boolean isEmpty() {
    return blocks.isEmpty();
  }

  public boolean contains(@Nullable InetAddress address) {
    return address != null && contains(address.getAddress());
  }

  public boolean contains(byte[] address) {
    for (Block b : blocks) {
      if (b.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /** The first block containing the address, or null. */
  public @Nullable Block find(byte[] address) {
    for (Block b : blocks) {
      if (b.contains(address)) {
        return b;
      }
    }
    return null;
  }

  @Override
  public String toString() {
    List<String> s = new ArrayList<>();
    for (Block b : blocks) {
      s.add(b.text());
    }
    return s.toString();
  }

  /** One address block. */
  public record Block(byte[] network, int prefix, String text) {
    public boolean contains(byte[] address) {
      byte[] a = address;
      if (a.length != network.length) {
        a = mapped(a, network.length);
        if (a == null) {
          return false;
        }
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (a[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xFF << (8 - rest)) & 0xFF;
      return (a[full] & mask) == (network[full] & mask);
    }

    /** IPv4-mapped IPv6 (::ffff:a.b.c.d) compared with IPv4 blocks, and the reverse. */
    private static byte[] mapped(byte[] a, int wanted) {
      if (a.length == 16 && wanted == 4) {
        for (int i = 0; i < 10; i++) {
          if (a[i] != 0) {
            return null;
          }
        }
        if ((a[10] & 0xFF) != 0xFF || (a[11] & 0xFF) != 0xFF) {
          return null;
        }
        return new byte[] {a[12], a[13], a[14], a[15]};
      }
      return null;
    }

    @Override
    public String toString() {
      return text;
    }
  }
}
