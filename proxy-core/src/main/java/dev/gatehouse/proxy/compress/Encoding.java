package dev.gatehouse.proxy.compress;

import dev.gatehouse.proxy.internal.gateway.OptionalLibrary;

/**
 * A content coding the proxy can compress responses with (and, for {@link #GZIP} and {@link #BROTLI},
 * decompress request bodies from).
 */
public enum Encoding {
  /** {@code gzip} (RFC 1952), from the JDK; always available. Levels 1-9, default 6. */
  GZIP("gzip", 1, 9, 6, null, null),
  /**
   * {@code br} (RFC 7932), with {@code com.aayushatharva.brotli4j:brotli4j} and its native library for
   * the platform. Levels (qualities) 0-11, default 4: a good ratio at a cost close to gzip's for content
   * made on the fly.
   */
  BROTLI("br", 0, 11, 4, "com.aayushatharva.brotli4j.Brotli4jLoader", "com.aayushatharva.brotli4j:brotli4j"),
  /**
   * {@code zstd} (RFC 8878, RFC 9659), with {@code com.github.luben:zstd-jni}. Levels 1-19, default 3
   * (the window stays within the 8 MiB RFC 9659 allows for HTTP).
   */
  ZSTD("zstd", 1, 19, 3, "com.github.luben.zstd.ZstdCompressCtx", "com.github.luben:zstd-jni");

  private final String token;
  private final int minLevel;
  private final int maxLevel;
  private final int defaultLevel;
  private final String probeClass;
  private final String artifact;

  Encoding(String token, int minLevel, int maxLevel, int defaultLevel, String probeClass, String artifact) {
    this.token = token;
    this.minLevel = minLevel;
    this.maxLevel = maxLevel;
    this.defaultLevel = defaultLevel;
    this.probeClass = probeClass;
    this.artifact = artifact;
  }

  /** The token used in {@code Accept-Encoding} and {@code Content-Encoding}, e.g. {@code br}. */
  public String token() {
    return token;
  }

  /** The lowest compression level. */
  public int minLevel() {
    return minLevel;
  }

  /** The highest compression level. */
  public int maxLevel() {
    return maxLevel;
  }

  /** The level used unless one is configured. */
  public int defaultLevel() {
    return defaultLevel;
  }

  /** Whether the library this encoding needs is on the class path and its native code loads. */
  public boolean isAvailable() {
    if (probeClass == null) {
      return true;
    }
    if (!OptionalLibrary.present(probeClass)) {
      return false;
    }
    return this != BROTLI || BrotliCodec.nativeAvailable();
  }

  /** Fails with a message naming the missing artifact unless {@link #isAvailable()}. */
  void requireAvailable(String feature) {
    if (probeClass == null) {
      return;
    }
    OptionalLibrary.require(feature + " with " + token, probeClass, artifact);
    if (this == BROTLI && !BrotliCodec.nativeAvailable()) {
      throw new IllegalStateException(feature + " with br needs the brotli4j native library for this platform"
          + " (com.aayushatharva.brotli4j:native-<os>-<arch>): " + BrotliCodec.unavailabilityCause());
    }
  }
}
