package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.reverse.LoadBalancing.Server;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The built-in {@link LoadBalancing} policies. They use only what a user-written policy sees ({@link
 * Server#uri()}, {@link Server#weight()}, {@link Server#activeRequests()} and the {@code usable} test).
 */
final class Balancers {
  /** Points per unit of weight on the consistent-hash ring. */
  static final int RING_POINTS_PER_WEIGHT = 160;
  /** Most points on a ring; weights are scaled down beyond this. */
  static final int RING_MAX_POINTS = 160_000;

  private Balancers() {}

  /** A built-in policy: its name (for {@code toString}) and how it makes a selector. */
  record Named(String name, Function<List<Server>, LoadBalancing.Selector> factory) implements LoadBalancing {
    @Override
    public LoadBalancing.Selector selector(List<Server> servers) {
      return factory.apply(servers);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  static final class RoundRobin implements LoadBalancing.Selector {
    private final Server[] members;
    private final AtomicInteger next = new AtomicInteger();

    RoundRobin(List<Server> members) {
      this.members = members.toArray(new Server[0]);
    }

    @Override
    public Server select(ProxyExchange exchange, Predicate<Server> usable) {
      int n = members.length;
      int start = next.getAndIncrement();
      for (int i = 0; i < n; i++) {
        Server s = members[Math.floorMod(start + i, n)];
        if (usable.test(s)) {
          return s;
        }
      }
      return null;
    }
  }

  /** nginx's smooth weighted round robin over the usable servers. */
  static final class SmoothWeighted implements LoadBalancing.Selector {
    private final Server[] members;
    private final int[] current;

    SmoothWeighted(List<Server> members) {
      this.members = members.toArray(new Server[0]);
      this.current = new int[this.members.length];
    }

    @Override
    public Server select(ProxyExchange exchange, Predicate<Server> usable) {
      return pick(usable, null);
    }

    /** Picks among servers {@code usable} accepts and, when {@code among} is given, whose flag is set. */
    Server pick(Predicate<Server> usable, boolean[] among) {
      if (members.length == 1) {
        Server only = members[0];
        return (among == null || among[0]) && usable.test(only) ? only : null;
      }
      synchronized (this) {
        return pickLocked(usable, among);
      }
    }

    private Server pickLocked(Predicate<Server> usable, boolean[] among) {
      int best = -1;
      int total = 0;
      for (int i = 0; i < members.length; i++) {
        if ((among != null && !among[i]) || !usable.test(members[i])) {
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
      return members[best];
    }
  }

  static final class LeastConnections implements LoadBalancing.Selector {
    private final Server[] members;
    private final SmoothWeighted tieBreak;

    LeastConnections(List<Server> members) {
      this.members = members.toArray(new Server[0]);
      this.tieBreak = new SmoothWeighted(members);
    }

    @Override
    public Server select(ProxyExchange exchange, Predicate<Server> usable) {
      int n = members.length;
      int[] load = new int[n];
      int best = -1;
      int ties = 0;
      boolean[] tied = null;
      for (int i = 0; i < n; i++) {
        if (!usable.test(members[i])) {
          load[i] = -1;
          continue;
        }
        load[i] = members[i].activeRequests();
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
        return members[best];
      }
      tied = new boolean[n];
      for (int i = 0; i < n; i++) {
        tied[i] = load[i] >= 0
            && (long) load[i] * members[best].weight() == (long) load[best] * members[i].weight();
      }
      Server s = tieBreak.pick(usable, tied);
      return s != null ? s : members[best];
    }
  }

  static final class PowerOfTwo implements LoadBalancing.Selector {
    private final Server[] members;

    PowerOfTwo(List<Server> members) {
      this.members = members.toArray(new Server[0]);
    }

    @Override
    public Server select(ProxyExchange exchange, Predicate<Server> usable) {
      int total = 0;
      int count = 0;
      for (Server m : members) {
        if (usable.test(m)) {
          total += m.weight();
          count++;
        }
      }
      if (count == 0) {
        return null;
      }
      Server a = weightedRandom(members, usable, total, null);
      if (count == 1) {
        return a;
      }
      Server b = weightedRandom(members, usable, total - a.weight(), a);
      long la = (long) a.activeRequests() * b.weight();
      long lb = (long) b.activeRequests() * a.weight();
      return lb < la ? b : a;
    }
  }

  /** A server chosen at random in proportion to weight, among usable ones other than {@code except}. */
  static Server weightedRandom(Server[] members, Predicate<Server> usable, int total, Server except) {
    int r = ThreadLocalRandom.current().nextInt(Math.max(1, total));
    Server last = null;
    for (Server m : members) {
      if (m == except || !usable.test(m)) {
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
  static final class Ring implements LoadBalancing.Selector {
    private final Server[] members;
    private final long[] points;
    private final int[] owners;
    private final Function<ProxyExchange, String> key;

    Ring(List<Server> members, Function<ProxyExchange, String> key) {
      this.members = members.toArray(new Server[0]);
      this.key = key;
      long totalWeight = 0;
      for (Server m : this.members) {
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
        String base = this.members[i].uri() + "#";
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
    public Server select(ProxyExchange exchange, Predicate<Server> usable) {
      int total = 0;
      for (Server m : members) {
        if (usable.test(m)) {
          total += m.weight();
        }
      }
      if (total == 0) {
        return null;
      }
      String k = key.apply(exchange);
      if (k == null) {
        Server m = weightedRandom(members, usable, total, null);
        return m;
      }
      return lookup(hash(k), usable);
    }

    /** The first usable server clockwise from {@code h}. */
    Server lookup(long h, Predicate<Server> usable) {
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
        Server s = members[owner];
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
