package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.cache.StoredResponse;
import dev.gatehouse.proxy.internal.upstream.BodySource;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One upstream fetch (or revalidation) of a key that other requests wait for instead of sending their
 * own (request collapsing). Waiters learn the outcome once the response head is in: follow the body as
 * it streams ({@link #follow()}), serve the freshly validated stored response, or go upstream alone.
 *
 * <p>The body is a linked list of chunks appended by the fetching exchange's I/O thread. While the fill
 * is joinable its first node is kept, so a late waiter starts from the beginning; once it is not (the
 * response was stored, or outgrew what may be kept), each follower's own position is all that keeps
 * chunks alive, and a follower that falls more than {@link #LAG_LIMIT} behind is cut.
 */
final class Fill {
  enum State { PENDING, STREAMING, COMPLETE, CUT, RELEASED, REVALIDATED }

  /** Most bytes a follower may lag behind once the fill no longer keeps its whole body. */
  static final long LAG_LIMIT = 16L * 1024 * 1024;

  final String key;
  private State state = State.PENDING;
  private StoredResponse head;
  private Policy policy;
  private int status;
  private Node start = new Node(null);
  private Node tail = start;
  private long appended;
  private List<Consumer<Fill>> waiters = new ArrayList<>(2);
  private List<Runnable> wakeups = new ArrayList<>(2);
  private final List<Follower> followers = new ArrayList<>(2);

  Fill(String key) {
    this.key = key;
  }

  private static final class Node {
    final ByteBuffer data;
    Node next;

    Node(ByteBuffer data) {
      this.data = data;
    }
  }

  synchronized State state() {
    return state;
  }

  synchronized StoredResponse head() {
    return head;
  }

  synchronized Policy policy() {
    return policy;
  }

  synchronized int status() {
    return status;
  }

  /**
   * Calls {@code waiter} once the outcome is known (at once, on this thread, if it is); otherwise from
   * the fetching thread. Returns a handle to {@link #forget} it.
   */
  Consumer<Fill> await(Consumer<Fill> waiter) {
    boolean now;
    synchronized (this) {
      now = state != State.PENDING;
      if (!now) {
        waiters.add(waiter);
      }
    }
    if (now) {
      waiter.accept(this);
    }
    return waiter;
  }

  synchronized void forget(Consumer<Fill> waiter) {
    if (waiters != null) {
      waiters.remove(waiter);
    }
  }

  /** Whether some request reads the body through this fill now. */
  synchronized boolean hasFollowers() {
    return !followers.isEmpty();
  }

  /** The response head is in and will be stored: waiters may follow the body. */
  void streaming(StoredResponse head, Policy policy, int status) {
    List<Consumer<Fill>> w;
    synchronized (this) {
      this.head = head;
      this.policy = policy;
      this.status = status;
      this.state = State.STREAMING;
      w = waiters;
      waiters = null;
    }
    notifyAll(w);
  }

  /** The stored response was validated (304): waiters serve {@code refreshed} from the store. */
  void revalidated(StoredResponse refreshed, Policy policy) {
    List<Consumer<Fill>> w;
    synchronized (this) {
      this.head = refreshed;
      this.policy = policy;
      this.state = State.REVALIDATED;
      w = waiters;
      waiters = null;
      start = null;
    }
    notifyAll(w);
  }

  /** Nothing to follow (not storable, or the fetch failed): waiters go upstream alone. */
  void release() {
    List<Consumer<Fill>> w;
    List<Runnable> wk;
    synchronized (this) {
      if (state == State.PENDING) {
        state = State.RELEASED;
      } else if (state == State.STREAMING) {
        state = State.CUT;
      }
      w = waiters;
      waiters = null;
      wk = wakeups;
      wakeups = new ArrayList<>(0);
      start = null;
    }
    notifyAll(w);
    runAll(wk);
  }

  private void notifyAll(List<Consumer<Fill>> w) {
    if (w != null) {
      for (Consumer<Fill> c : w) {
        c.accept(this);
      }
    }
  }

  private static void runAll(List<Runnable> wk) {
    for (Runnable r : wk) {
      r.run();
    }
  }

  /** Whether anybody still reads the body (when not, a fill that is not stored need not copy it). */
  synchronized boolean wanted() {
    return start != null || !followers.isEmpty();
  }

  /** Appends a chunk the fill now owns. */
  void append(ByteBuffer chunk) {
    List<Runnable> wk;
    synchronized (this) {
      if (state != State.STREAMING) {
        return;
      }
      Node n = new Node(chunk);
      tail.next = n;
      tail = n;
      appended += chunk.remaining();
      if (start == null) {
        for (Follower f : followers) {
          if (appended - f.consumed > LAG_LIMIT) {
            f.lagging = true;
          }
        }
      }
      if (wakeups.isEmpty()) {
        return;
      }
      wk = wakeups;
      wakeups = new ArrayList<>(wk.size());
    }
    runAll(wk);
  }

  /** The whole body was received. */
  void complete() {
    end(State.COMPLETE);
  }

  /** The body was cut: followers are cut too. */
  void cut() {
    end(State.CUT);
  }

  private void end(State s) {
    List<Runnable> wk;
    synchronized (this) {
      if (state != State.STREAMING) {
        return;
      }
      state = s;
      if (s == State.CUT) {
        start = null;
      }
      wk = wakeups;
      wakeups = new ArrayList<>(0);
    }
    runAll(wk);
  }

  /** New waiters may no longer start from the beginning; the chunks live as long as followers need them. */
  synchronized void stopJoining() {
    start = null;
  }

  /** A source reading the body from its start, or null when that is no longer possible. */
  synchronized Follower follow() {
    if (start == null || (state != State.STREAMING && state != State.COMPLETE)) {
      return null;
    }
    Follower f = new Follower(start, head.bodyLength());
    followers.add(f);
    return f;
  }

  /** Reads a fill's body as it grows. */
  final class Follower implements BodySource {
    private Node cur;
    private final long length;
    long consumed;
    boolean lagging;

    Follower(Node from, long length) {
      this.cur = from;
      this.length = length;
    }

    @Override
    public long length() {
      return length;
    }

    @Override
    public ByteBuffer next(Runnable wakeup) {
      synchronized (Fill.this) {
        if (lagging) {
          throw new IllegalStateException("fell more than " + LAG_LIMIT + " bytes behind the upstream response");
        }
        Node n = cur.next;
        if (n != null) {
          cur = n;
          consumed += n.data.remaining();
          return n.data.duplicate();
        }
        if (state == State.COMPLETE) {
          return END;
        }
        if (state == State.CUT || state == State.RELEASED) {
          throw new dev.gatehouse.proxy.UpstreamResponseException("the upstream response was cut");
        }
        wakeups.add(wakeup);
        return null;
      }
    }

    @Override
    public void close() {
      synchronized (Fill.this) {
        followers.remove(this);
        cur = null;
      }
    }
  }
}
