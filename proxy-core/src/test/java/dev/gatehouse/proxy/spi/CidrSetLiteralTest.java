package dev.gatehouse.proxy.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link CidrSet#parseLiteral}'s IPv4 part is parsed by hand (it runs for every forward request's host):
 * it answers exactly what the split-based parser it replaced answered, on the edge cases and on a
 * hundred thousand random strings over the characters that matter.
 */
class CidrSetLiteralTest {

  @Test
  void ipv4LiteralsAndNonLiterals() {
    assertThat(CidrSet.parseLiteral("127.0.0.1")).containsExactly(127, 0, 0, 1);
    assertThat(CidrSet.parseLiteral("255.255.255.255")).containsExactly(-1, -1, -1, -1);
    assertThat(CidrSet.parseLiteral("010.0.0.9")).containsExactly(10, 0, 0, 9);
    assertThat(CidrSet.parseLiteral("[10.1.2.3]")).containsExactly(10, 1, 2, 3);
    for (String no : new String[] {"", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4.5", "256.0.0.1",
        "1.2.3.0256", "1.2.3.-1", "1.2.3.x", "example.com", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/8", "0x7f.0.0.1",
        "١.2.3.4", "[]", "."}) {
      assertThat(CidrSet.parseLiteral(no)).as(no).isNull();
    }
    assertThat(CidrSet.parseLiteral("::1")).hasSize(16);
    assertThat(CidrSet.parseLiteral("[::ffff:1.2.3.4]")).isNotNull();
  }

  @Test
  void answersWhatTheSplitParserAnswered() {
    Random r = new Random(14);
    String alphabet = "0123456789..........a ";
    List<String> inputs = new ArrayList<>();
    for (int i = 0; i < 100_000; i++) {
      StringBuilder b = new StringBuilder();
      int len = r.nextInt(18);
      for (int j = 0; j < len; j++) {
        b.append(alphabet.charAt(r.nextInt(alphabet.length())));
      }
      inputs.add(b.toString());
    }
    for (int i = 0; i < 10_000; i++) {
      inputs.add(r.nextInt(300) + "." + r.nextInt(300) + "." + r.nextInt(1100) + "." + r.nextInt(300));
    }
    int literals = 0;
    for (String s : inputs) {
      byte[] expected = splitParser(s);
      assertThat(CidrSet.parseLiteral(s)).as("'%s'", s).isEqualTo(expected);
      literals += expected == null ? 0 : 1;
    }
    assertThat(literals).as("the random inputs hold literals too").isGreaterThan(1000);
  }

  /** The IPv4 branch as it was (no ':' in these inputs). */
  private static byte[] splitParser(String s) {
    if (s.isEmpty()) {
      return null;
    }
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return null;
    }
    byte[] out = new byte[4];
    for (int i = 0; i < 4; i++) {
      String p = parts[i];
      if (p.isEmpty() || p.length() > 3) {
        return null;
      }
      int v = 0;
      for (int j = 0; j < p.length(); j++) {
        char c = p.charAt(j);
        if (c < '0' || c > '9') {
          return null;
        }
        v = v * 10 + (c - '0');
      }
      if (v > 255) {
        return null;
      }
      out[i] = (byte) v;
    }
    return out;
  }
}
