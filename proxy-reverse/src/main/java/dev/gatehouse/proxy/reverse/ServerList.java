package dev.gatehouse.proxy.reverse;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The servers of a group: an immutable {@link Snapshot} swapped atomically on every change, so that a
 * request sees either the old list or the new one, never a mix; and the servers removed at runtime that
 * still finish requests ({@link ServerState#DRAINING}). Servers are identified by {@link ServerUri#key}.
 */
final class ServerList {
  private final HealthEvents events;
  private final LoadBalancing balancing;
  private final Object lock;
  private final List<UpstreamServer> draining = new CopyOnWriteArrayList<>();
  private volatile Snapshot snapshot;

  /** A server as configured: its address and weight. */
  record Entry(ServerUri address, int weight) {}

  /** One immutable version of the server list, with the balancer's selector made for it. */
  record Snapshot(List<Member> members, Map<String, UpstreamServer> byKey,
      Map<String, UpstreamServer> byId, LoadBalancing.Selector selector) {

    /** Whether {@code m} is a server of this version of the list. */
    boolean contains(Member m) {
      return byKey.get(m.server().key()) == m.server();
    }
  }

  ServerList(List<Entry> initial, LoadBalancing balancing, HealthEvents events, Object lock) {
    this.balancing = balancing;
    this.events = events;
    this.lock = lock;
    List<Member> members = new ArrayList<>();
    for (Entry e : initial) {
      members.add(new Member(new UpstreamServer(e.address()), e.weight()));
    }
    this.snapshot = snapshotOf(members);
  }

  private Snapshot snapshotOf(List<Member> members) {
    List<Member> copy = List.copyOf(members);
    Map<String, UpstreamServer> byKey = new HashMap<>();
    Map<String, UpstreamServer> byId = new HashMap<>();
    for (Member m : copy) {
      byKey.put(m.server().key(), m.server());
      byId.put(m.server().id(), m.server());
    }
    List<LoadBalancing.Server> view = List.copyOf(copy);
    LoadBalancing.Selector selector = Objects.requireNonNull(balancing.selector(view),
        () -> "loadBalancing " + balancing + " made no selector for upstream group " + events.group());
    return new Snapshot(copy, Map.copyOf(byKey), Map.copyOf(byId), selector);
  }

  Snapshot snapshot() {
    return snapshot;
  }

  /** The removed servers that still have requests in flight; reading changes nothing. */
  List<UpstreamServer> draining() {
    List<UpstreamServer> out = new ArrayList<>(draining.size());
    for (UpstreamServer s : draining) {
      if (s.inFlight() > 0) {
        out.add(s);
      }
    }
    return Collections.unmodifiableList(out);
  }

  /** Adds a server; see {@link UpstreamGroup#addServer(String, int)}. */
  void add(ServerUri address, int weight) {
    synchronized (lock) {
      if (snapshot.byKey().containsKey(address.key())) {
        throw new IllegalStateException("server: " + address.uri() + " is already in upstream group "
            + events.group() + " (expected: a new server; use setWeight to change its weight)");
      }
      List<Member> members = new ArrayList<>(snapshot.members());
      members.add(new Member(new UpstreamServer(address), weight));
      snapshot = snapshotOf(members);
    }
    HealthEvents.LOG.info("upstream group {}: added {} weight={}", events.group(), address.uri(), weight);
  }

  /** Removes a server, which drains; see {@link UpstreamGroup#removeServer}. */
  boolean remove(ServerUri address) {
    UpstreamServer removed = null;
    synchronized (lock) {
      List<Member> members = new ArrayList<>(snapshot.members());
      for (int i = 0; i < members.size(); i++) {
        if (members.get(i).server().key().equals(address.key())) {
          if (members.size() == 1) {
            throw new IllegalStateException("server: " + address.uri() + " is the last server of upstream group "
                + events.group() + " (expected: add another before removing it)");
          }
          removed = members.remove(i).server();
          break;
        }
      }
      if (removed == null) {
        return false;
      }
      removed.draining = true;
      snapshot = snapshotOf(members);
    }
    HealthEvents.LOG.info("upstream group {}: removed {}; draining {} request(s) in flight", events.group(),
        address.uri(), removed.inFlight());
    drain(removed);
    return true;
  }

  /** Changes a server's weight; see {@link UpstreamGroup#setWeight}. */
  void setWeight(ServerUri address, int weight) {
    synchronized (lock) {
      List<Member> members = new ArrayList<>(snapshot.members());
      for (int i = 0; i < members.size(); i++) {
        if (members.get(i).server().key().equals(address.key())) {
          members.set(i, new Member(members.get(i).server(), weight));
          snapshot = snapshotOf(members);
          HealthEvents.LOG.info("upstream group {}: {} weight={}", events.group(), address.uri(), weight);
          return;
        }
      }
    }
    throw new IllegalArgumentException("server: " + address.uri() + " (expected: a server of upstream group "
        + events.group() + ")");
  }

  /**
   * Replaces the whole list; see {@link UpstreamGroup#setServers}. Servers already in the group keep
   * their state (health, ejection, requests in flight).
   */
  void setAll(List<Entry> entries) {
    List<UpstreamServer> removed = new ArrayList<>();
    synchronized (lock) {
      Map<String, UpstreamServer> current = new LinkedHashMap<>(snapshot.byKey());
      List<Member> members = new ArrayList<>();
      for (Entry e : entries) {
        UpstreamServer s = current.remove(e.address().key());
        members.add(new Member(s != null ? s : new UpstreamServer(e.address()), e.weight()));
      }
      for (UpstreamServer gone : current.values()) {
        gone.draining = true;
        removed.add(gone);
      }
      snapshot = snapshotOf(members);
    }
    for (UpstreamServer gone : removed) {
      drain(gone);
    }
  }

  /**
   * The entries of a {@link UpstreamGroup#setServers} map, checked, in its order.
   *
   * @throws IllegalArgumentException if a URI or weight is invalid, or two URIs name the same server
   */
  static List<Entry> entries(Map<String, Integer> weights) {
    List<Entry> entries = new ArrayList<>(weights.size());
    Set<String> keys = new HashSet<>();
    for (Map.Entry<String, Integer> e : weights.entrySet()) {
      ServerUri address = ServerUri.parse(e.getKey());
      int weight = Checks.weight(Objects.requireNonNull(e.getValue(), "weight"));
      if (!keys.add(address.key())) {
        throw new IllegalArgumentException("upstream: " + e.getKey() + " (expected: each server once)");
      }
      entries.add(new Entry(address, weight));
    }
    return entries;
  }

  /** {@code [uri weight=w, ...]}, weights of 1 left out. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("[");
    List<Member> members = snapshot.members();
    for (int i = 0; i < members.size(); i++) {
      Member m = members.get(i);
      sb.append(i == 0 ? "" : ", ").append(m.server().key());
      if (m.weight() != 1) {
        sb.append(" weight=").append(m.weight());
      }
    }
    return sb.append(']').toString();
  }

  /** Tracks a removed (draining) server until its last request ends. */
  private void drain(UpstreamServer s) {
    draining.add(s);
    if (s.inFlight() == 0) {
      draining.remove(s);
    }
    events.fire(s, ServerState.AVAILABLE, ServerState.DRAINING, "removed");
  }

  /** A request of {@code s} ended: a draining server with none left is done. */
  void released(UpstreamServer s) {
    if (s.draining && s.inFlight() == 0 && draining.remove(s)) {
      HealthEvents.LOG.info("upstream group {}: {} drained", events.group(), s.key());
    }
  }
}
