package dev.gatehouse.proxy.forward.internal.mitm;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The minted certificates, per host: bounded (least recently used go first), each kept for half its
 * validity (so a certificate handed out always has at least half of it left), and minted once however
 * many connections to a new host arrive together: they all wait for the same result. Minting runs on
 * the executor given, never on the caller's thread.
 */
public final class LeafCache {
  private final LeafMinter minter;
  private final Executor mintExecutor;
  private final AsyncCache<String, Leaf> cache;

  /**
   * @param minter makes the certificates
   * @param maxHosts most certificates kept
   * @param validity the certificates' validity; each is kept for half of it
   * @param clock drives expiry (tests move it)
   * @param mintExecutor where minting runs (not an I/O thread)
   */
  public LeafCache(LeafMinter minter, int maxHosts, Duration validity, InstantSource clock, Executor mintExecutor) {
    this.minter = minter;
    this.mintExecutor = mintExecutor;
    this.cache = Caffeine.newBuilder()
        .maximumSize(maxHosts)
        .expireAfterWrite(validity.dividedBy(2))
        .ticker(() -> nanos(clock.instant()))
        .executor(Runnable::run) // eviction bookkeeping is tiny: no thread pool of its own
        .buildAsync();
  }

  private static long nanos(Instant t) {
    return t.getEpochSecond() * 1_000_000_000L + t.getNano();
  }

  /**
   * The certificate for {@code host}: completed at once when cached, else when minted. A failed mint is
   * not cached (the next connection tries again).
   */
  public CompletableFuture<Leaf> get(String host) {
    CompletableFuture<Leaf> f = cache.get(host, this::mint);
    if (f.isCompletedExceptionally()) {
      // Caffeine drops a failed future right after it completes; do not hand it out in between
      cache.asMap().remove(host, f);
      f = cache.get(host, this::mint);
    }
    return f;
  }

  private CompletableFuture<Leaf> mint(String host, Executor unused) {
    return CompletableFuture.supplyAsync(() -> minter.mint(host), mintExecutor);
  }

  /** Hosts with a certificate cached (an estimate while entries expire). */
  public long size() {
    return cache.synchronous().estimatedSize();
  }

  /** Certificates minted so far. */
  public long minted() {
    return minter.minted();
  }
}
