package dev.gatehouse.proxy.testsupport;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * Seeded input generation for the property tests: every run prints its seed, a failure names the seed
 * and the case, and {@code -Dfuzz.seed=...} replays it ({@code random} for a fresh one); {@code
 * -Dfuzz.cases=N} sets the number of cases per property (the default is what CI runs).
 */
public final class Fuzz {
  private final long seed;
  public final Random random;
  public final int cases;

  private Fuzz(long seed, int cases) {
    this.seed = seed;
    this.random = new Random(seed);
    this.cases = cases;
  }

  /**
   * The seed CI runs with, so that the suite gives the same answer on every run. Longer runs explore
   * with {@code -Dfuzz.seed=random -Dfuzz.cases=...}, and print the seed to replay a finding.
   */
  public static final long CI_SEED = 20261130L;

  /** A generator with the seed from {@code fuzz.seed} ({@link #CI_SEED} by default) and {@code fuzz.cases} cases. */
  public static Fuzz start(String property, int defaultCases) {
    String s = System.getProperty("fuzz.seed");
    long seed = s == null ? CI_SEED : s.equals("random") ? new Random().nextLong() : Long.parseLong(s);
    int cases = Integer.getInteger("fuzz.cases", defaultCases);
    System.out.println(property + ": " + cases + " cases, seed " + seed + " (replay with -Dfuzz.seed=" + seed + ")");
    return new Fuzz(seed, cases);
  }

  /** How to replay a failure of case {@code i}. */
  public String where(int i, Object input) {
    return "case " + i + " of seed " + seed + " (-Dfuzz.seed=" + seed + "): " + printable(input);
  }

  public static String printable(Object input) {
    String text = input instanceof byte[] ? new String((byte[]) input, StandardCharsets.ISO_8859_1) : String.valueOf(input);
    StringBuilder sb = new StringBuilder();
    for (char c : text.toCharArray()) {
      if (c == '\r') {
        sb.append("\\r");
      } else if (c == '\n') {
        sb.append("\\n");
      } else if (c < 0x20 || c >= 0x7F) {
        sb.append(String.format("\\x%02x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  public int between(int min, int max) {
    return min + random.nextInt(max - min + 1);
  }

  public boolean chance(double p) {
    return random.nextDouble() < p;
  }

  public <T> T pick(T[] items) {
    return items[random.nextInt(items.length)];
  }

  public String hex(int value) {
    String h = Integer.toHexString(value);
    return random.nextBoolean() ? h.toUpperCase(java.util.Locale.ROOT) : h;
  }

  /** Random bytes of the given length, over the whole byte range. */
  public byte[] bytes(int length) {
    byte[] b = new byte[length];
    random.nextBytes(b);
    return b;
  }

  /** A token of 1..max characters (RFC 9110 tchar). */
  public String token(int max) {
    String tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    StringBuilder sb = new StringBuilder();
    int n = between(1, max);
    for (int i = 0; i < n; i++) {
      sb.append(tchar.charAt(random.nextInt(tchar.length())));
    }
    return sb.toString();
  }

  /** A field value of visible characters, spaces and tabs inside (none at either end). */
  public String fieldValue(int max) {
    StringBuilder sb = new StringBuilder();
    int n = between(0, max);
    for (int i = 0; i < n; i++) {
      int c = chance(0.1) ? (chance(0.5) ? ' ' : '\t') : between(0x21, 0x7E);
      sb.append((char) c);
    }
    return sb.toString().strip();
  }

  /**
   * A mutation of {@code in}: a byte replaced, inserted or removed (often a framing byte: CR, LF, NUL,
   * space, colon, semicolon, a hex digit), a range duplicated, or the tail cut.
   */
  public byte[] mutate(byte[] in) {
    byte[] special = {'\r', '\n', 0, ' ', '\t', ':', ';', '0', 'f', 'G', '-', '+', (byte) 0x80, 0x7F, '"', ','};
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int kind = random.nextInt(5);
    int at = in.length == 0 ? 0 : random.nextInt(in.length);
    byte b = chance(0.7) ? special[random.nextInt(special.length)] : (byte) random.nextInt(256);
    switch (kind) {
      case 0: // replace
        out.write(in, 0, in.length);
        byte[] r = out.toByteArray();
        if (r.length > 0) {
          r[at] = b;
        }
        return r;
      case 1: // insert
        out.write(in, 0, at);
        out.write(b);
        out.write(in, at, in.length - at);
        return out.toByteArray();
      case 2: // delete
        out.write(in, 0, at);
        if (at + 1 <= in.length) {
          out.write(in, Math.min(at + 1, in.length), in.length - Math.min(at + 1, in.length));
        }
        return out.toByteArray();
      case 3: { // duplicate a range
        int len = Math.min(in.length - at, between(1, 12));
        out.write(in, 0, at + len);
        out.write(in, at, len);
        out.write(in, at + len, in.length - at - len);
        return out.toByteArray();
      }
      default: // truncate
        out.write(in, 0, at);
        return out.toByteArray();
    }
  }
}
