package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.cache.HttpCache;
import java.util.Objects;
import java.util.function.Function;

/**
 * Gives the engine's modules the internal side of a public {@link HttpCache} without putting an
 * internal type in its public signature: the cache class installs the accessor when it is loaded.
 */
public final class CacheAccess {
  private static volatile Function<HttpCache, CacheEngine> accessor;

  private CacheAccess() {}

  /** Called once, by {@link HttpCache}'s class initialiser. */
  public static void install(Function<HttpCache, CacheEngine> a) {
    accessor = a;
  }

  /** The engine behind {@code cache}. */
  public static CacheEngine engine(HttpCache cache) {
    Objects.requireNonNull(cache, "cache");
    return accessor.apply(cache); // the class is initialised: an instance exists
  }
}
