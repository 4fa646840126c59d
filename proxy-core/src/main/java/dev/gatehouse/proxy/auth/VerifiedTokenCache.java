package dev.gatehouse.proxy.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.InstantSource;
import java.util.Arrays;

/**
 * Tokens already verified, keyed by the SHA-256 of the token (the token itself is never kept), bounded
 * in size by Caffeine and never used past the token's {@code exp}: entries expire then, and a read checks
 * the time again. Each entry carries the key set it was verified with, and the filter uses it only while
 * that set is current (emptying the cache on a change is not enough on its own: a verification that
 * ends just after the change would put an entry of the old keys back).
 */
final class VerifiedTokenCache {

  /** What a verified token grants, and under which key set: it counts only while that set is current. */
  static final class Entry {
    final Principal principal;
    final String[] headers;
    final long expMillis;
    final KeySet keys;

    Entry(Principal principal, String[] headers, long expMillis, KeySet keys) {
      this.principal = principal;
      this.headers = headers;
      this.expMillis = expMillis;
      this.keys = keys;
    }
  }

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  });

  private final Cache<Key, Entry> cache;
  private final InstantSource clock;

  VerifiedTokenCache(int maximumSize, InstantSource clock) {
    this.clock = clock;
    this.cache = Caffeine.newBuilder()
        .maximumSize(maximumSize)
        .executor(Runnable::run)
        .ticker(() -> clock.millis() * 1_000_000L)
        .expireAfter(new Expiry<Key, Entry>() {
          @Override
          public long expireAfterCreate(Key key, Entry value, long currentTime) {
            return Math.max(0, value.expMillis * 1_000_000L - currentTime);
          }

          @Override
          public long expireAfterUpdate(Key key, Entry value, long currentTime, long currentDuration) {
            return expireAfterCreate(key, value, currentTime);
          }

          @Override
          public long expireAfterRead(Key key, Entry value, long currentTime, long currentDuration) {
            return currentDuration;
          }
        })
        .build();
  }

  static Key keyOf(String token) {
    return new Key(SHA256.get().digest(token.getBytes(StandardCharsets.US_ASCII)));
  }

  /** The entry for a token that has not expired yet, or null. */
  Entry get(Key key) {
    Entry e = cache.getIfPresent(key);
    if (e != null && clock.millis() >= e.expMillis) {
      cache.invalidate(key);
      return null;
    }
    return e;
  }

  void put(Key key, Entry entry) {
    if (clock.millis() < entry.expMillis) {
      cache.put(key, entry);
    }
  }

  void clear() {
    cache.invalidateAll();
  }

  long size() {
    cache.cleanUp();
    return cache.estimatedSize();
  }

  /** A token's hash. */
  static final class Key {
    private final byte[] hash;
    private final int hashCode;

    Key(byte[] hash) {
      this.hash = hash;
      this.hashCode = Arrays.hashCode(hash);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key && MessageDigest.isEqual(hash, ((Key) o).hash);
    }

    @Override
    public int hashCode() {
      return hashCode;
    }
  }
}
