package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** Distribution of each policy, measured on the selectors themselves (no network). */
class LoadBalancingTest {
  private static final Predicate<LoadBalancing.Server> ALL = s -> true;

  private static List<LoadBalancing.Server> members(int... weights) {
    List<LoadBalancing.Server> out = new ArrayList<>();
    for (int i = 0; i < weights.length; i++) {
      out.add(new Member(new UpstreamServer(ServerUri.parse("http://10.0.0." + (i + 1) + ":8080")), weights[i]));
    }
    return out;
  }

  /** The live state behind a member (to put requests in flight). */
  private static UpstreamServer live(LoadBalancing.Server s) {
    return ((Member) s).server();
  }

  private static Map<LoadBalancing.Server, Integer> count(LoadBalancing.Selector selector, int n, Predicate<LoadBalancing.Server> usable) {
    Map<LoadBalancing.Server, Integer> counts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      counts.merge(selector.select(null, usable), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void roundRobinGivesEachServerTheSameShareIgnoringWeights() {
    List<LoadBalancing.Server> m = members(5, 1, 1);
    Map<LoadBalancing.Server, Integer> c = count(LoadBalancing.roundRobin().selector(m), 300, ALL);
    for (LoadBalancing.Server x : m) {
      assertThat(c.get(x)).isEqualTo(100);
    }
  }

  @Test
  void smoothWeightedRoundRobinInterleavesExactlyByWeight() {
    List<LoadBalancing.Server> m = members(5, 1, 1);
    LoadBalancing.Selector s = LoadBalancing.weightedRoundRobin().selector(m);
    StringBuilder order = new StringBuilder();
    for (int i = 0; i < 7; i++) {
      LoadBalancing.Server picked = s.select(null, ALL);
      for (int j = 0; j < m.size(); j++) {
        if (m.get(j) == picked) {
          order.append((char) ('a' + j));
        }
      }
    }
    assertThat(order.toString()).isEqualTo("aabacaa");
  }

  @Test
  void smoothWeightedRoundRobinSkipsUnusableServersAndKeepsTheOthersProportions() {
    List<LoadBalancing.Server> m = members(3, 3, 2);
    LoadBalancing.Server down = m.get(0);
    Map<LoadBalancing.Server, Integer> c = count(LoadBalancing.weightedRoundRobin().selector(m), 500, s -> s != down);
    assertThat(c.get(down)).isNull();
    assertThat(c.get(m.get(1))).isEqualTo(300);
    assertThat(c.get(m.get(2))).isEqualTo(200);
  }

  @Test
  void leastConnectionsPicksTheServerWithFewestRequestsPerWeight() {
    List<LoadBalancing.Server> m = members(1, 2, 1);
    LoadBalancing.Server a = m.get(0);
    LoadBalancing.Server b = m.get(1);
    LoadBalancing.Server c = m.get(2);
    live(a).tryAcquire(0);
    live(a).tryAcquire(0);  // a: 2 in flight / weight 1 = 2
    live(b).tryAcquire(0);
    live(b).tryAcquire(0);
    live(b).tryAcquire(0);  // b: 3 / 2 = 1.5
    live(c).tryAcquire(0);  // c: 1 / 1 = 1
    LoadBalancing.Selector s = LoadBalancing.leastConnections().selector(m);
    assertThat(s.select(null, ALL)).isSameAs(c);
    live(c).tryAcquire(0);  // c: 2 -> b (1.5) is now least
    assertThat(s.select(null, ALL)).isSameAs(b);
  }

  @Test
  void leastConnectionsFollowsWeightsWhenServersAreEquallyLoaded() {
    List<LoadBalancing.Server> m = members(3, 1);
    Map<LoadBalancing.Server, Integer> c = count(LoadBalancing.leastConnections().selector(m), 400, ALL);
    assertThat(c.get(m.get(0))).isEqualTo(300);
    assertThat(c.get(m.get(1))).isEqualTo(100);
  }

  @Test
  void leastConnectionsUnderLoadKeepsInFlightProportionalToWeight() {
    // Simulate: each pick holds a slot; every 2nd pick releases the oldest request.
    List<LoadBalancing.Server> m = members(3, 1);
    LoadBalancing.Selector s = LoadBalancing.leastConnections().selector(m);
    List<LoadBalancing.Server> inFlight = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      LoadBalancing.Server x = s.select(null, ALL);
      live(x).tryAcquire(0);
      inFlight.add(x);
      if (i % 2 == 1) {
        live(inFlight.remove(0)).release();
      }
    }
    double ratio = (double) m.get(0).activeRequests() / Math.max(1, m.get(1).activeRequests());
    assertThat(ratio).isCloseTo(3.0, within(0.7));
  }

  @Test
  void powerOfTwoChoicesSpreadsByWeightAndAvoidsTheBusyServer() {
    List<LoadBalancing.Server> m = members(2, 1, 1);
    Map<LoadBalancing.Server, Integer> c = count(LoadBalancing.powerOfTwoChoices().selector(m), 20_000, ALL);
    assertThat(c.get(m.get(0)) / 20_000.0).isCloseTo(0.5, within(0.05));
    assertThat(c.get(m.get(1)) / 20_000.0).isCloseTo(0.25, within(0.05));

    LoadBalancing.Server busy = m.get(0);
    for (int i = 0; i < 100; i++) {
      live(busy).tryAcquire(0);
    }
    Map<LoadBalancing.Server, Integer> c2 = count(LoadBalancing.powerOfTwoChoices().selector(m), 10_000, ALL);
    // the busy server wins only when both random picks are itself, which cannot happen: picks are distinct
    assertThat(c2.get(busy)).isNull();
  }

  @Test
  void consistentHashSpreadsKeysByWeight() {
    List<LoadBalancing.Server> m = members(1, 1, 2);
    Balancers.Ring ring = new Balancers.Ring(m, ex -> null);
    Map<LoadBalancing.Server, Integer> c = new HashMap<>();
    int keys = 100_000;
    for (int i = 0; i < keys; i++) {
      c.merge(ring.lookup(Balancers.hash("user-" + i), ALL), 1, Integer::sum);
    }
    assertThat(c.get(m.get(0)) / (double) keys).isCloseTo(0.25, within(0.04));
    assertThat(c.get(m.get(1)) / (double) keys).isCloseTo(0.25, within(0.04));
    assertThat(c.get(m.get(2)) / (double) keys).isCloseTo(0.50, within(0.05));
  }

  @Test
  void consistentHashMovesAboutOneNthOfTheKeysWhenAServerIsAddedOrRemoved() {
    List<LoadBalancing.Server> ten = members(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    Balancers.Ring before = new Balancers.Ring(ten, ex -> null);
    Balancers.Ring removed = new Balancers.Ring(ten.subList(0, 9), ex -> null);
    List<LoadBalancing.Server> eleven = new ArrayList<>(ten);
    eleven.add(new Member(new UpstreamServer(ServerUri.parse("http://10.0.0.11:8080")), 1));
    Balancers.Ring added = new Balancers.Ring(eleven, ex -> null);

    int keys = 100_000;
    int movedOnRemove = 0;
    int movedOnAdd = 0;
    int wronglyMoved = 0;
    LoadBalancing.Server gone = ten.get(9);
    for (int i = 0; i < keys; i++) {
      long h = Balancers.hash("session-" + i);
      LoadBalancing.Server owner = before.lookup(h, ALL);
      LoadBalancing.Server afterRemove = removed.lookup(h, ALL);
      if (afterRemove != owner) {
        movedOnRemove++;
        if (owner != gone) {
          wronglyMoved++;
        }
      }
      if (added.lookup(h, ALL) != owner) {
        movedOnAdd++;
      }
    }
    double removeShare = movedOnRemove / (double) keys;
    double addShare = movedOnAdd / (double) keys;
    System.out.printf("consistent hash remap: remove 1 of 10 moved %.3f, add 11th moved %.3f%n", removeShare, addShare);
    assertThat(removeShare).isCloseTo(0.10, within(0.03));
    assertThat(addShare).isCloseTo(1 / 11.0, within(0.03));
    assertThat(wronglyMoved).as("keys moved although their server stayed").isZero();
  }

  @Test
  void consistentHashSkipsAnUnusableServerAndMovesOnlyItsKeys() {
    List<LoadBalancing.Server> m = members(1, 1, 1, 1);
    Balancers.Ring ring = new Balancers.Ring(m, ex -> null);
    LoadBalancing.Server down = m.get(2);
    for (int i = 0; i < 10_000; i++) {
      long h = Balancers.hash("k" + i);
      LoadBalancing.Server normal = ring.lookup(h, ALL);
      LoadBalancing.Server skipping = ring.lookup(h, s -> s != down);
      assertThat(skipping).isNotSameAs(down);
      if (normal != down) {
        assertThat(skipping).isSameAs(normal);
      }
    }
  }

  @Test
  void everyPolicyReturnsNullWhenNoServerIsUsable() {
    List<LoadBalancing.Server> m = members(1, 2);
    for (LoadBalancing lb : List.of(LoadBalancing.roundRobin(), LoadBalancing.weightedRoundRobin(),
        LoadBalancing.leastConnections(), LoadBalancing.powerOfTwoChoices(), LoadBalancing.consistentHashByPath())) {
      assertThat(lb.selector(m).select(null, s -> false)).as(lb.toString()).isNull();
    }
  }

  @Test
  void hashKeyNamesAreValidated() {
    assertThatThrownBy(() -> LoadBalancing.consistentHashByHeader("X User"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("consistentHashByHeader: \"X User\" (expected: a token such as X-User-Id)");
    assertThatThrownBy(() -> LoadBalancing.consistentHashByCookie(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("consistentHashByCookie: \"\" (expected: a token such as X-User-Id)");
  }
}
