package dev.gatehouse.proxy.internal.http1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.testsupport.Fuzz;
import io.undertow.util.HeaderValues;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Property: the upstream response head parser reads every input as an independent reference reader of
 * RFC 9112 §4 and §5 does: same status, reason and fields (obs-fold replaced by one space, §5.2), the
 * body starting at the same byte, the same refusals (bare CR or LF, NUL and other controls, white space
 * before a colon, invalid names and status lines, size limits), however the bytes are split, and nothing
 * thrown but {@link UpstreamResponseException}.
 */
class ResponseHeadParserFuzzTest {

  record Head(String outcome, int status, String reason, String protocol, Map<String, List<String>> fields, int end) {
    static Head rejected() {
      return new Head("rejected", 0, null, null, Map.of(), 0);
    }

    static Head incomplete() {
      return new Head("incomplete", 0, null, null, Map.of(), 0);
    }
  }

  /** The reference reader, from the grammar. */
  static Head reference(byte[] in) {
    int end = -1;
    for (int i = 3; i < in.length; i++) {
      if (in[i] == '\n' && in[i - 1] == '\r' && in[i - 2] == '\n' && in[i - 3] == '\r') {
        end = i + 1;
        break;
      }
    }
    if (end < 0) {
      return in.length > ResponseHeadParser.MAX_HEAD_BYTES ? Head.rejected() : Head.incomplete();
    }
    if (end > ResponseHeadParser.MAX_HEAD_BYTES) {
      return Head.rejected();
    }
    // every line ends in CRLF; no other control than HTAB anywhere
    List<String> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < end - 2; i++) {
      int c = in[i] & 0xFF;
      if (c == '\r') {
        if (in[i + 1] != '\n') {
          return Head.rejected();
        }
        lines.add(new String(in, start, i - start, StandardCharsets.ISO_8859_1));
        start = i + 2;
        i++;
      } else if (c == '\n' || c == 0x7F || (c < 0x20 && c != '\t')) {
        return Head.rejected();
      }
    }
    String status = lines.get(0);
    if (!status.matches("(?s)HTTP/1\\.[01] [0-9]{3}( .*)?")) { // (?s): NEL (0x85) is obs-text, not a line end
      return Head.rejected();
    }
    int code = Integer.parseInt(status.substring(9, 12));
    if (code < 100 || code > 599) {
      return Head.rejected();
    }
    String reason = status.length() > 12 ? status.substring(13) : "";
    Map<String, List<String>> fields = new LinkedHashMap<>();
    String last = null;
    int count = 0;
    for (String line : lines.subList(1, lines.size())) {
      if (line.startsWith(" ") || line.startsWith("\t")) {
        if (last == null) {
          return Head.rejected();
        }
        List<String> values = fields.get(last);
        String prev = values.remove(values.size() - 1);
        String more = ows(line);
        values.add(more.isEmpty() ? prev : prev.isEmpty() ? more : prev + " " + more);
        continue;
      }
      if (++count > ResponseHeadParser.MAX_FIELDS) {
        return Head.rejected();
      }
      int colon = line.indexOf(':');
      if (colon <= 0 || !Http.isToken(line.substring(0, colon))) {
        return Head.rejected();
      }
      last = line.substring(0, colon).toLowerCase(Locale.ROOT);
      fields.computeIfAbsent(last, k -> new ArrayList<>()).add(ows(line.substring(colon + 1)));
    }
    return new Head("parsed", code, reason, status.substring(0, 8), fields, end);
  }

  private static String ows(String s) {
    int a = 0;
    int b = s.length();
    while (a < b && (s.charAt(a) == ' ' || s.charAt(a) == '\t')) {
      a++;
    }
    while (b > a && (s.charAt(b - 1) == ' ' || s.charAt(b - 1) == '\t')) {
      b--;
    }
    return s.substring(a, b);
  }

  /** The parser's reading, the input split into random reads. */
  static Head parse(byte[] in, Fuzz f) {
    ResponseHeadParser p = new ResponseHeadParser();
    int consumed = 0;
    try {
      while (consumed < in.length) {
        int piece = f.chance(0.4) ? in.length - consumed : Math.min(in.length - consumed, f.between(1, 40));
        ByteBuffer b = ByteBuffer.wrap(Arrays.copyOfRange(in, consumed, consumed + piece));
        boolean done = p.feed(b);
        consumed += b.position();
        if (done) {
          Map<String, List<String>> fields = new LinkedHashMap<>();
          for (HeaderValues hv : p.headers()) {
            fields.computeIfAbsent(hv.getHeaderName().toString().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                .addAll(hv);
          }
          return new Head("parsed", p.status(), p.reason(), p.protocol(), fields, consumed);
        }
        if (b.hasRemaining()) {
          throw new AssertionError("the parser left bytes of an unfinished head unread");
        }
      }
    } catch (UpstreamResponseException e) {
      return Head.rejected();
    }
    return Head.incomplete();
  }

  static byte[] wellFormed(Fuzz f) {
    StringBuilder sb = new StringBuilder();
    sb.append("HTTP/1.").append(f.chance(0.9) ? '1' : '0').append(' ').append(f.between(100, 599));
    if (f.chance(0.9)) {
      sb.append(' ').append(f.chance(0.7) ? "OK" : f.fieldValue(20)).append(f.chance(0.1) ? "\u00e9" : "");
    }
    sb.append("\r\n");
    int fields = f.between(0, 8);
    for (int i = 0; i < fields; i++) {
      String name = f.chance(0.3) ? f.pick(new String[] {"Content-Length", "content-type", "Set-Cookie", "Via", "ETag"})
          : f.token(12);
      sb.append(name).append(':').append(f.chance(0.7) ? " " : f.chance(0.5) ? "\t" : "")
          .append(f.fieldValue(30)).append(f.chance(0.1) ? " \t" : "").append("\r\n");
      if (f.chance(0.05)) {
        sb.append(f.chance(0.5) ? " " : "\t").append(f.fieldValue(10)).append("\r\n"); // obs-fold
      }
    }
    sb.append("\r\n");
    if (f.chance(0.5)) {
      sb.append("body bytes\r\n\r\nHTTP/1.1 200 OK\r\n\r\n");
    }
    return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void wellFormedHeadsParseAsTheReferenceReadsThem() {
    Fuzz f = Fuzz.start("response head well-formed", 10_000);
    for (int i = 0; i < f.cases; i++) {
      byte[] in = wellFormed(f);
      int c = i;
      Head ref = reference(in);
      assertThat(ref.outcome()).as(() -> f.where(c, in)).isEqualTo("parsed");
      assertThat(parse(in, f)).as(() -> f.where(c, in)).isEqualTo(ref);
    }
  }

  @Test
  void mutatedHeadsAreParsedAsTheReferenceReadsThemOrRefused() {
    Fuzz f = Fuzz.start("response head mutated", 10_000);
    for (int i = 0; i < f.cases; i++) {
      byte[] generated = wellFormed(f);
      int mutations = f.between(1, 3);
      for (int m = 0; m < mutations; m++) {
        generated = f.mutate(generated);
      }
      byte[] in = generated;
      int c = i;
      Head got;
      try {
        got = parse(in, f);
      } catch (RuntimeException e) {
        fail("the parser threw " + e + " for " + f.where(i, in), e);
        return;
      }
      assertThat(got).as(() -> f.where(c, in)).isEqualTo(reference(in));
    }
  }
}
