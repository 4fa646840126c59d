package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.ProxyStatus;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;

/** {@link ProxyStatus} as JSON for the admin listener's {@code /status}; no library needed to write it. */
final class StatusJson {
  private StatusJson() {}

  static String of(ProxyStatus s) {
    StringBuilder b = new StringBuilder(512);
    b.append('{');
    field(b, "kind", s.kind()).append(',');
    field(b, "version", s.version()).append(',');
    field(b, "state", s.state().name()).append(',');
    b.append("\"startedAt\":");
    if (s.startedAt().isPresent()) {
      string(b, s.startedAt().get().toString());
    } else {
      b.append("null");
    }
    b.append(",\"uptimeSeconds\":").append(s.uptime().toMillis() / 1000.0).append(',');
    b.append("\"address\":");
    if (s.address().isPresent()) {
      InetSocketAddress a = s.address().get();
      string(b, a.getHostString() + ":" + a.getPort());
    } else {
      b.append("null");
    }
    b.append(",\"activeExchanges\":").append(s.activeExchanges());
    b.append(",\"activeConnections\":")
        .append(s.activeConnections().isPresent() ? Long.toString(s.activeConnections().getAsLong()) : "null");
    b.append(",\"routes\":[");
    List<ProxyStatus.Route> routes = s.routes();
    for (int i = 0; i < routes.size(); i++) {
      ProxyStatus.Route r = routes.get(i);
      b.append(i == 0 ? "{" : ",{");
      field(b, "name", r.name()).append(',');
      field(b, "match", r.match()).append(',');
      field(b, "group", r.group()).append('}');
    }
    b.append("],\"groups\":[");
    List<ProxyStatus.Group> groups = s.groups();
    for (int i = 0; i < groups.size(); i++) {
      ProxyStatus.Group g = groups.get(i);
      b.append(i == 0 ? "{" : ",{");
      field(b, "name", g.name()).append(',');
      field(b, "loadBalancing", g.loadBalancing()).append(",\"servers\":[");
      for (int j = 0; j < g.servers().size(); j++) {
        ProxyStatus.Server v = g.servers().get(j);
        b.append(j == 0 ? "{" : ",{");
        field(b, "uri", v.uri());
        b.append(",\"weight\":").append(v.weight()).append(',');
        field(b, "state", v.state());
        b.append(",\"activeRequests\":").append(v.activeRequests())
            .append(",\"consecutiveFailures\":").append(v.consecutiveFailures())
            .append(",\"ejections\":").append(v.ejections())
            .append(",\"circuitOpen\":").append(v.circuitOpen()).append('}');
      }
      b.append("]}");
    }
    b.append("],\"pools\":[");
    List<ProxyStatus.Pool> pools = s.pools();
    for (int i = 0; i < pools.size(); i++) {
      ProxyStatus.Pool p = pools.get(i);
      b.append(i == 0 ? "{" : ",{");
      field(b, "upstream", p.upstream());
      b.append(",\"openConnections\":").append(p.openConnections())
          .append(",\"idleConnections\":").append(p.idleConnections())
          .append(",\"pendingRequests\":").append(p.pendingRequests())
          .append(",\"http2\":").append(p.http2()).append('}');
    }
    b.append("],\"features\":{");
    boolean first = true;
    for (Map.Entry<String, Map<String, Long>> f : s.features().entrySet()) {
      b.append(first ? "" : ",");
      first = false;
      string(b, f.getKey()).append(":{");
      boolean firstCounter = true;
      for (Map.Entry<String, Long> c : f.getValue().entrySet()) {
        b.append(firstCounter ? "" : ",");
        firstCounter = false;
        string(b, c.getKey()).append(':').append(c.getValue());
      }
      b.append('}');
    }
    return b.append("}}").toString();
  }

  private static StringBuilder field(StringBuilder b, String name, String value) {
    string(b, name).append(':');
    return string(b, value);
  }

  /** A JSON string; control characters, quotes, backslashes, {@code <}, {@code >} and {@code &} escaped. */
  static StringBuilder string(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          b.append("\\\"");
          break;
        case '\\':
          b.append("\\\\");
          break;
        case '\n':
          b.append("\\n");
          break;
        case '\r':
          b.append("\\r");
          break;
        case '\t':
          b.append("\\t");
          break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7F || c == '\u2028' || c == '\u2029') {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
      }
    }
    return b.append('"');
  }
}
