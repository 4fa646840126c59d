package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyExchange;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * How an {@link UpstreamGroup} chooses a server for each request. Every policy skips servers that are
 * unhealthy, ejected, draining or at their concurrency limit, and (for retries) servers already tried.
 */
public final class LoadBalancing {
  /** Points per unit of weight on the consistent-hash ring. */
  static final int RING_POINTS_PER_WEIGHT = 160;
  /** Most points on a ring; weights are scaled down beyond this. */
  static final int RING_MAX_POINTS = 160_000;

  private final String name;
  private final Function<List<Member>, Selector> factory;

  private LoadBalancing(String name, Function<List<Member>, Selector> factory) {
    this.name = name;
    this.factory = factory;
  }

  /** Each server in turn, ignoring weights. */
  public static LoadBalancing roundRobin() {
    return new LoadBalancing("roundRobin", RoundRobin::new);
  }

  /**
   * Smooth weighted round robin, as nginx's {@code weight=}: over any window of total-weight requests
   * each server gets exactly its weight's share, interleaved rather than in bursts (weights 5, 1, 1
   * give a a b a c a a, not a a a a a b c).
   */
  public static LoadBalancing weightedRoundRobin() {
    return new LoadBalancing("weightedRoundRobin", SmoothWeighted::new);
  }

  /**
   * Weighted least connections (nginx's {@code least_conn}): the server with the fewest requests in
   * flight relative to its weight; ties are broken by smooth weighted round robin. Good when request
   * costs vary.
   */
  public static LoadBalancing leastConnections() {
    return new LoadBalancing("leastConnections", LeastConnections::new);
  }

  /**
   * Power of two random choices: two servers picked at random (in proportion to weight), the one with
   * fewer requests in flight per weight wins. Nearly as good as least connections with no shared hot
   * spot, and it avoids herding onto a server that just became free.
   */
  public static LoadBalancing powerOfTwoChoices() {
    return new LoadBalancing("powerOfTwoChoices", PowerOfTwo::new);
  }

  /**
   * Consistent hashing on the client's address ({@link ProxyExchange#realClientIp()}, so behind a
   * trusted load balancer the forwarded address): a client keeps going to the same server, and adding
   * or removing one of N servers moves only about 1/N of the clients.
   */
  public static LoadBalancing consistentHashByClientAddress() {
    return new LoadBalancing("consistentHash(clientAddress)", m -> new Ring(m, ProxyExchange::realClientIp));
  }

  /**
   * Consistent hashing on the first value of a request header (e.g. {@code X-User-Id}); requests
   * without it go to a server chosen at random in proportion to weight.
   */
  public static LoadBalancing consistentHashByHeader(String name) {
    String n = checkToken("consistentHashByHeader", name);
    return new LoadBalancing("consistentHash(header " + n + ")",
        m -> new Ring(m, ex -> ex.request().headers().get(n).orElse(null)));
  }

  /**
   * Consistent hashing on a cookie's value (e.g. a session id); requests without it go to a server
   * chosen at random in proportion to weight. To have the proxy set the cookie itself, see {@link
   * UpstreamGroup.Builder#stickySessions(String)}.
   */
  public static LoadBalancing consistentHashByCookie(String name) {
    String n = checkToken("consistentHashByCookie", name);
    return new LoadBalancing("consistentHash(cookie " + n + ")", m -> new Ring(m, ex -> Cookies.get(ex, n)));
  }

  /** Consistent hashing on the request path (without query), e.g. for cache affinity. */
  public static LoadBalancing consistentHashByPath() {
    return new LoadBalancing("consistentHash(path)", m -> new Ring(m, ex -> ex.request().path()));
  }

  private static String checkToken(String setting, String name) {
    Objects.requireNonNull(name, setting);
    if (!name.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
      throw new IllegalArgumentException(setting + ": \"" + name + "\" (expected: a token such as X-User-Id)");
    }
    return name;
  }

  String name() {
    return name;
  }

  Selector selector(List<Member> members) {
    return factory.apply(members);
  }

  @Override
  public String toString() {
    return name;
  }

  /** A server and its weight in one version of the group. */
  record Member(UpstreamServer server, int weight) {}

  /** Chooses one server per request among those {@code usable} accepts; null if none. Thread-safe. */
  interface Selector {
    UpstreamServer select(ProxyExchange exchange, Predicate<UpstreamServer> usable);
  }

  private static final class RoundRobin implements Selector {
    private final Member[] members;
    private final AtomicInteger next = new AtomicInteger();

    RoundRobin(List<Member> members) {
      this.members = members.toArray(new Member[0]);
    }

    @Override
    public UpstreamServer select(ProxyExchange exchange, Predicate<UpstreamServer> usable) {
      int n = members.length;
      int start = next.getAndIncrement();
      for (int i = 0; i < n; i++) {
        UpstreamServer s = members[Math.floorMod(start + i, n)].server();
        if (usable.test(s)) {
          return s;
        }
      }
      return null;
    }
  }

  /** nginx's smooth weighted round robin over the usable servers. */
  private static final class SmoothWeighted implements Selector {
    private final Member[] members;
    private final int[] current;

    SmoothWeighted(List<Member> members) {
      this.members = members.toArray(new Member[0]);
      this.current = new int[this.members.length];
    }

    @Override
    public UpstreamServer select(ProxyExchange exchange, Predicate<UpstreamServer> usable) {
      return pick(usable, null);
    }

    /** Picks among servers {@code usable} accepts and, when {@code among} is given, whose flag is set. */
    UpstreamServer pick(Predicate<UpstreamServer> usable, boolean[] among) {
      if (members.length == 1) {
        UpstreamServer only = members[0].server();
        return (among == null || among[0]) && usable.test(only) ? only : null;
      }
      synchronized (this) {
        return pickLocked(usable, among);
      }
    }

    private UpstreamServer pickLocked(Predicate<UpstreamServer> usable, boolean[] among) {
      int best = -1;
      int total = 0;
      for (int i = 0; i < members.length; i++) {
        if ((among != null && !among[i]) || !usable.test(members[i].server())) {
          continue;
        }
        current[i] += members[i].weight();
        total += members[i].weight();
        if (best < 0 || current[i] > current[best]) {
          best = i;
        }
      }
      if (best < 0) {
        return null;
      }
      current[best] -= total;
      return members[best].server();
    }
  }

  private static final class LeastConnections implements Selector {
    private final Member[] members;
    private final SmoothWeighted tieBreak;

    LeastConnections(List<Member> members) {
      this.members = members.toArray(new Member[0]);
      this.tieBreak = new SmoothWeighted(members);
    }

    @Override
    public UpstreamServer select(ProxyExchange exchange, Predicate<UpstreamServer> usable) {
      int n = members.length;
      int[] load = new int[n];
      int best = -1;
      int ties = 0;
      boolean[] tied = null;
      for (int i = 0; i < n; i++) {
        if (!usable.test(members[i].server())) {
          load[i] = -1;
          continue;
        }
        load[i] = members[i].server().inFlight();
        if (best < 0) {
          best = i;
          ties = 1;
          continue;
        }
        // load[i] / w[i] < load[best] / w[best], without division
        long a = (long) load[i] * members[best].weight();
        long b = (long) load[best] * members[i].weight();
        if (a < b) {
          best = i;
          ties = 1;
        } else if (a == b) {
          ties++;
        }
      }
      if (best < 0) {
        return null;
      }
      if (ties == 1) {
        return members[best].server();
      }
      tied = new boolean[n];
      for (int i = 0; i < n; i++) {
        tied[i] = load[i] >= 0
            && (long) load[i] * members[best].weight() == (long) load[best] * members[i].weight();
      }
      UpstreamServer s = tieBreak.pick(usable, tied);
      return s != null ? s : members[best].server();
    }
  }

  private static final class PowerOfTwo implements Selector {
    private final Member[] members;

    PowerOfTwo(List<Member> members) {
      this.members = members.toArray(new Member[0]);
    }

    @Override
    public UpstreamServer select(ProxyExchange exchange, Predicate<UpstreamServer> usable) {
      int total = 0;
      int count = 0;
      for (Member m : members) {
        if (usable.test(m.server())) {
          total += m.weight();
          count++;
        }
      }
      if (count == 0) {
        return null;
      }
      Member a = weightedRandom(members, usable, total, null);
      if (count == 1) {
        return a.server();
      }
      Member b = weightedRandom(members, usable, total - a.weight(), a);
      long la = (long) a.server().inFlight() * b.weight();
      long lb = (long) b.server().inFlight() * a.weight();
      return lb < la ? b.server() : a.server();
    }
  }

  /** A server chosen at random in proportion to weight, among usable ones other than {@code except}. */
  static Member weightedRandom(Member[] members, Predicate<UpstreamServer> usable, int total, Member except) {
    int r = ThreadLocalRandom.current().nextInt(Math.max(1, total));
    Member last = null;
    for (Member m : members) {
      if (m == except || !usable.test(m.server())) {
        continue;
      }
      last = m;
      r -= m.weight();
      if (r < 0) {
        return m;
      }
    }
    return last;
  }

  /**
   * A hash ring with {@link #RING_POINTS_PER_WEIGHT} virtual nodes per unit of weight, each placed by
   * hashing the server's URI, so that every proxy instance builds the same ring and a change of one
   * server moves only the keys next to its points.
   */
  static final class Ring implements Selector {
    private final Member[] members;
    private final long[] points;
    private final int[] owners;
    private final Function<ProxyExchange, String> key;

    Ring(List<Member> members, Function<ProxyExchange, String> key) {
      this.members = members.toArray(new Member[0]);
      this.key = key;
      long totalWeight = 0;
      for (Member m : this.members) {
        totalWeight += m.weight();
      }
      double scale = Math.min(1.0, (double) RING_MAX_POINTS / (totalWeight * RING_POINTS_PER_WEIGHT));
      int n = 0;
      int[] counts = new int[this.members.length];
      for (int i = 0; i < counts.length; i++) {
        counts[i] = Math.max(1, (int) Math.round(this.members[i].weight() * RING_POINTS_PER_WEIGHT * scale));
        n += counts[i];
      }
      long[] raw = new long[n];
      int k = 0;
      for (int i = 0; i < counts.length; i++) {
        String base = this.members[i].server().key() + "#";
        for (int j = 0; j < counts[i]; j++) {
          // point value in the high bits, owner in the low 20 bits, sorted together
          raw[k++] = (hash(base + j) & ~0xFFFFFL) | i;
        }
      }
      Arrays.sort(raw);
      this.points = new long[n];
      this.owners = new int[n];
      for (int i = 0; i < n; i++) {
        points[i] = raw[i] & ~0xFFFFFL;
        owners[i] = (int) (raw[i] & 0xFFFFF);
      }
    }

    @Override
    public UpstreamServer select(ProxyExchange exchange, Predicate<UpstreamServer> usable) {
      int total = 0;
      for (Member m : members) {
        if (usable.test(m.server())) {
          total += m.weight();
        }
      }
      if (total == 0) {
        return null;
      }
      String k = key.apply(exchange);
      if (k == null) {
        Member m = weightedRandom(members, usable, total, null);
        return m == null ? null : m.server();
      }
      return lookup(hash(k), usable);
    }

    /** The first usable server clockwise from {@code h}. */
    UpstreamServer lookup(long h, Predicate<UpstreamServer> usable) {
      long target = h & ~0xFFFFFL;
      int i = Arrays.binarySearch(points, target);
      if (i < 0) {
        i = -i - 1;
      }
      int n = points.length;
      boolean[] rejected = null;
      for (int step = 0; step < n; step++) {
        int owner = owners[(i + step) % n];
        if (rejected != null && rejected[owner]) {
          continue;
        }
        UpstreamServer s = members[owner].server();
        if (usable.test(s)) {
          return s;
        }
        if (rejected == null) {
          rejected = new boolean[members.length];
        }
        rejected[owner] = true;
      }
      return null;
    }
  }

  /** FNV-1a over UTF-8, then MurmurHash3's 64-bit finaliser for avalanche. */
  static long hash(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
