package dev.gatehouse.proxy.compress;

import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.util.List;
import java.util.Locale;

/** Chooses a content coding from {@code Accept-Encoding} (RFC 9110 §12.5.3) and the server's preference. */
final class AcceptEncoding {
  private AcceptEncoding() {}

  /**
   * The encoding with the highest weight among {@code preference} (ties go to the earlier one), or null
   * when the client accepts none of them. An encoding not listed takes the weight of {@code *}, if
   * present, else 0; {@code x-gzip} counts as {@code gzip}.
   */
  static Encoding choose(List<String> acceptEncoding, List<Encoding> preference) {
    List<String> elements = HeaderValuesParser.elements(acceptEncoding);
    Encoding best = null;
    double bestQ = 0;
    for (Encoding e : preference) {
      double q = weight(elements, e);
      if (q > bestQ) {
        best = e;
        bestQ = q;
      }
    }
    return best;
  }

  private static double weight(List<String> elements, Encoding e) {
    double star = -1;
    for (String element : elements) {
      int semi = element.indexOf(';');
      String coding = (semi < 0 ? element : element.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
      double q = semi < 0 ? 1 : q(element.substring(semi + 1));
      if (q < 0) {
        continue; // a malformed weight: the element is ignored
      }
      if (coding.equals(e.token()) || (e == Encoding.GZIP && coding.equals("x-gzip"))) {
        return q;
      }
      if (coding.equals("*")) {
        star = q;
      }
    }
    return Math.max(0, star);
  }

  /** The weight in {@code ;q=0.5}-style parameters; 1 without one; -1 when malformed. */
  private static double q(String params) {
    for (String p : params.split(";")) {
      String t = p.trim();
      if (t.length() >= 2 && (t.charAt(0) == 'q' || t.charAt(0) == 'Q') && t.charAt(1) == '=') {
        String v = t.substring(2).trim();
        if (!v.matches("0(\\.[0-9]{0,3})?|1(\\.0{0,3})?")) {
          return -1;
        }
        return Double.parseDouble(v);
      }
    }
    return 1;
  }
}
