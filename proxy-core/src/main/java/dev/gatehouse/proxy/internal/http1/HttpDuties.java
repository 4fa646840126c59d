package dev.gatehouse.proxy.internal.http1;

import dev.gatehouse.proxy.ForwardedHeaders;
import dev.gatehouse.proxy.spi.CidrSet;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The proxy's duties towards the messages it forwards (RFC 9110 §7.6): hop-by-hop fields, {@code Via},
 * and the client-identifying {@code X-Forwarded-*} / {@code Forwarded} fields with a trust list.
 */
public final class HttpDuties {
  public static final HttpString KEEP_ALIVE = new HttpString("Keep-Alive");
  public static final HttpString PROXY_CONNECTION = new HttpString("Proxy-Connection");
  public static final HttpString X_FORWARDED_FOR = new HttpString("X-Forwarded-For");
  public static final HttpString X_FORWARDED_PROTO = new HttpString("X-Forwarded-Proto");
  public static final HttpString X_FORWARDED_HOST = new HttpString("X-Forwarded-Host");
  public static final HttpString X_REAL_IP = new HttpString("X-Real-IP");
  public static final HttpString FORWARDED = new HttpString("Forwarded");
  public static final HttpString VIA = Headers.VIA;
  public static final HttpString MAX_FORWARDS = Headers.MAX_FORWARDS;

  /** Hop-by-hop fields removed in both directions, whatever {@code Connection} lists. */
  private static final HttpString[] HOP_BY_HOP = {
    Headers.CONNECTION, KEEP_ALIVE, PROXY_CONNECTION, Headers.TE, Headers.TRAILER,
    Headers.TRANSFER_ENCODING, Headers.UPGRADE, Headers.PROXY_AUTHORIZATION, Headers.PROXY_AUTHENTICATE
  };

  private HttpDuties() {}

  /** Whether {@code name} is one of the fixed hop-by-hop fields (or a framing field the proxy sets itself). */
  public static boolean isHopByHopOrFraming(HttpString name) {
    for (HttpString h : HOP_BY_HOP) {
      if (h.equals(name)) {
        return true;
      }
    }
    return Headers.CONTENT_LENGTH.equals(name);
  }

  /**
   * Removes the hop-by-hop fields, including every field named in {@code Connection} (RFC 9110 §7.6.1).
   * {@code Host} and the framing fields are never removed because {@code Connection} names them; the
   * proxy writes framing itself. {@code keep} names fields to leave (e.g. {@code Upgrade} for a tunnel).
   */
  public static void stripHopByHop(HeaderMap headers, HttpString... keep) {
    HeaderValues connection = headers.get(Headers.CONNECTION);
    if (connection != null) {
      for (String value : connection) {
        if (value.equalsIgnoreCase("keep-alive") || value.equalsIgnoreCase("close")) {
          continue; // the common values name no other field
        }
        for (String item : value.split(",")) {
          String name = item.trim();
          if (!name.isEmpty() && Http.isToken(name) && !name.equalsIgnoreCase("host")
              && !name.equalsIgnoreCase("content-length") && !isKept(name, keep)) {
            headers.remove(name);
          }
        }
      }
    }
    for (HttpString h : HOP_BY_HOP) {
      if (!isKept(h.toString(), keep)) {
        headers.remove(h);
      }
    }
  }

  private static boolean isKept(String name, HttpString[] keep) {
    for (HttpString k : keep) {
      if (k.equalToString(name)) {
        return true;
      }
    }
    return false;
  }

  /** Appends {@code "<version> <pseudonym>"} to {@code Via}, e.g. {@code 1.1 gatehouse}. */
  public static void addVia(HeaderMap headers, String protocol, String pseudonym) {
    if (pseudonym == null) {
      return;
    }
    String entry = viaEntry(protocol, pseudonym);
    String existing = joined(headers, VIA);
    headers.put(VIA, existing == null ? entry : existing + ", " + entry);
  }

  /** The last {@code Via} entry made: proxies add the same one over and over. */
  private record ViaEntry(String pseudonym, String version, String text) {}

  private static volatile ViaEntry viaCache = new ViaEntry("", "", "");

  private static String viaEntry(String protocol, String pseudonym) {
    String version = viaVersion(protocol);
    ViaEntry c = viaCache;
    if (pseudonym.equals(c.pseudonym()) && version.equals(c.version())) {
      return c.text();
    }
    String entry = version + " " + pseudonym;
    viaCache = new ViaEntry(pseudonym, version, entry);
    return entry;
  }

  static String viaVersion(String protocol) {
    if (protocol == null) {
      return "1.1";
    }
    switch (protocol) {
      case "HTTP/1.0":
        return "1.0";
      case "HTTP/2.0":
        return "2";
      default:
        return "1.1";
    }
  }

  /** All values of a field joined with ", ", or null. */
  public static String joined(HeaderMap headers, HttpString name) {
    HeaderValues values = headers.get(name);
    if (values == null || values.isEmpty()) {
      return null;
    }
    if (values.size() == 1) {
      return values.getFirst();
    }
    return String.join(", ", values);
  }

  /**
   * Sets the client-identifying fields for the upstream. A client's own values are kept and appended to
   * only when its address is trusted; otherwise they are replaced.
   *
   * @return the client address the proxy believes (for {@code X-Real-IP} and filters)
   */
  public static String applyForwarded(HeaderMap h, ForwardedHeaders mode, CidrSet trusted, InetAddress peer,
      String scheme, String host) {
    String peerIp = ipText(peer);
    boolean peerTrusted = !trusted.isEmpty() && trusted.contains(peer);
    String realIp = peerIp;
    if (peerTrusted) {
      realIp = realIpFrom(joined(h, X_FORWARDED_FOR), trusted, peerIp);
    }
    if (!mode.xForwarded() || !peerTrusted) {
      h.remove(X_FORWARDED_FOR);
      h.remove(X_FORWARDED_PROTO);
      h.remove(X_FORWARDED_HOST);
      h.remove(X_REAL_IP);
    }
    if (!mode.forwarded() || !peerTrusted) {
      h.remove(FORWARDED);
    }
    if (mode.xForwarded()) {
      String xff = joined(h, X_FORWARDED_FOR);
      h.put(X_FORWARDED_FOR, xff == null ? peerIp : xff + ", " + peerIp);
      if (!h.contains(X_FORWARDED_PROTO)) {
        h.put(X_FORWARDED_PROTO, scheme);
      }
      if (!h.contains(X_FORWARDED_HOST) && host != null) {
        h.put(X_FORWARDED_HOST, host);
      }
      h.put(X_REAL_IP, realIp);
    }
    if (mode.forwarded()) {
      StringBuilder sb = new StringBuilder();
      sb.append("for=").append(forwardedNode(peer, peerIp)).append(";proto=").append(scheme);
      if (host != null && !host.isEmpty()) {
        sb.append(";host=").append(quoteIfNeeded(host));
      }
      String existing = joined(h, FORWARDED);
      h.put(FORWARDED, existing == null ? sb.toString() : existing + ", " + sb);
    }
    return realIp;
  }

  /**
   * The first address, walking {@code X-Forwarded-For} from the right, that is not a trusted proxy (as
   * nginx's {@code real_ip_recursive}); the leftmost when all are trusted.
   */
  static String realIpFrom(String xff, CidrSet trusted, String peerIp) {
    if (xff == null) {
      return peerIp;
    }
    List<String> items = new ArrayList<>();
    for (String s : xff.split(",")) {
      String t = s.trim();
      if (!t.isEmpty()) {
        items.add(t);
      }
    }
    for (int i = items.size() - 1; i >= 0; i--) {
      String candidate = items.get(i);
      byte[] literal = CidrSet.parseLiteral(stripPort(candidate));
      if (literal == null) {
        return peerIp; // not an address: do not believe anything further left
      }
      if (!trusted.contains(literal)) {
        return stripPort(candidate);
      }
      if (i == 0) {
        return stripPort(candidate);
      }
    }
    return peerIp;
  }

  private static String stripPort(String s) {
    if (s.startsWith("[")) {
      int end = s.indexOf(']');
      return end > 0 ? s.substring(1, end) : s;
    }
    int colon = s.indexOf(':');
    if (colon > 0 && s.indexOf(':', colon + 1) < 0) {
      return s.substring(0, colon);
    }
    return s;
  }

  /** An address and its text, the last formatted on a thread (changed in place: no allocation). */
  private static final class LastIp {
    InetAddress address;
    String text;
  }

  /** The last address formatted on this thread: clients repeat, and formatting allocates every time. */
  private static final ThreadLocal<LastIp> LAST_IP = ThreadLocal.withInitial(LastIp::new);

  /** The text of {@code address} (without an IPv6 scope), or {@code unknown}. */
  public static String ipText(InetAddress address) {
    if (address == null) {
      return "unknown";
    }
    LastIp last = LAST_IP.get();
    if (address.equals(last.address)) {
      return last.text;
    }
    String s = address.getHostAddress();
    int pct = s.indexOf('%');
    String text = pct > 0 ? s.substring(0, pct) : s;
    last.address = address;
    last.text = text;
    return text;
  }

  private static String forwardedNode(InetAddress peer, String ip) {
    if (peer instanceof java.net.Inet6Address) {
      return "\"[" + ip + "]\"";
    }
    return ip;
  }

  private static String quoteIfNeeded(String v) {
    return Http.isToken(v) ? v : "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
