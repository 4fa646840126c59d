package dev.gatehouse.proxy;

/**
 * An amount of bytes, such as a cache's size: {@code DataSize.ofMiB(256)}. Immutable; binary units
 * (1 KiB = 1024 bytes).
 */
public final class DataSize implements Comparable<DataSize> {
  private static final long KIB = 1024;
  private static final long MIB = KIB * 1024;
  private static final long GIB = MIB * 1024;

  private final long bytes;

  private DataSize(long bytes) {
    this.bytes = bytes;
  }

  /** {@code bytes} bytes. @throws IllegalArgumentException if negative */
  public static DataSize ofBytes(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("bytes: " + bytes + " (expected: >= 0)");
    }
    return new DataSize(bytes);
  }

  /** {@code kib} kibibytes. @throws IllegalArgumentException if negative or too large */
  public static DataSize ofKiB(long kib) {
    return of("kib", kib, KIB);
  }

  /** {@code mib} mebibytes. @throws IllegalArgumentException if negative or too large */
  public static DataSize ofMiB(long mib) {
    return of("mib", mib, MIB);
  }

  /** {@code gib} gibibytes. @throws IllegalArgumentException if negative or too large */
  public static DataSize ofGiB(long gib) {
    return of("gib", gib, GIB);
  }

  private static DataSize of(String name, long amount, long unit) {
    if (amount < 0 || amount > Long.MAX_VALUE / unit) {
      throw new IllegalArgumentException(name + ": " + amount + " (expected: 0-" + Long.MAX_VALUE / unit + ")");
    }
    return new DataSize(amount * unit);
  }

  /** The number of bytes. */
  public long toBytes() {
    return bytes;
  }

  @Override
  public int compareTo(DataSize other) {
    return Long.compare(bytes, other.bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DataSize && ((DataSize) o).bytes == bytes;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(bytes);
  }

  /** The size in the largest unit that divides it exactly, e.g. {@code 256 MiB} or {@code 1500 bytes}. */
  @Override
  public String toString() {
    if (bytes != 0 && bytes % GIB == 0) {
      return bytes / GIB + " GiB";
    }
    if (bytes != 0 && bytes % MIB == 0) {
      return bytes / MIB + " MiB";
    }
    if (bytes != 0 && bytes % KIB == 0) {
      return bytes / KIB + " KiB";
    }
    return bytes + " bytes";
  }
}
