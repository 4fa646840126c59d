package dev.gatehouse.proxy.internal.http1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.gatehouse.proxy.testsupport.Fuzz;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Property: the strict chunked decoder (used for client request bodies and upstream response bodies)
 * reads every input exactly as an independent reference reader of RFC 9112 §7.1 does: the same data,
 * the same end of the message (bytes after it are left for the next message), the same refusals; it is
 * never confused by how the bytes are split across reads, and it throws nothing but its framing error.
 *
 * <p>The reference reader is written from the grammar, with the two deliberate liberties of the
 * decoder: chunk extensions and trailer lines are read up to their CRLF without parsing their inside
 * (both are dropped and never forwarded), refusing only LF and NUL in them, and the same size limits.
 */
class ChunkedDecoderFuzzTest {

  enum Outcome { DONE, INCOMPLETE, REJECTED }

  record Reading(Outcome outcome, byte[] data, int end) {}

  /** The reference reader. */
  static Reading reference(byte[] in) {
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    int n = in.length;
    int p = 0;
    for (;;) {
      long size = 0;
      int digits = 0;
      while (p < n && hex(in[p]) >= 0) {
        if (++digits > 15) {
          return new Reading(Outcome.REJECTED, data.toByteArray(), p);
        }
        size = size * 16 + hex(in[p]);
        p++;
      }
      if (p == n) {
        return new Reading(Outcome.INCOMPLETE, data.toByteArray(), p);
      }
      if (digits == 0) {
        return new Reading(Outcome.REJECTED, data.toByteArray(), p);
      }
      byte c = in[p];
      if (c == ';' || c == ' ' || c == '\t') {
        p++;
        int ext = 0;
        while (p < n && in[p] != '\r') {
          if (in[p] == '\n' || in[p] == 0 || ++ext > 4096) {
            return new Reading(Outcome.REJECTED, data.toByteArray(), p);
          }
          p++;
        }
        if (p < n && ext + 1 > 4096) {
          return new Reading(Outcome.REJECTED, data.toByteArray(), p);
        }
      } else if (c != '\r') {
        return new Reading(Outcome.REJECTED, data.toByteArray(), p);
      }
      Reading crlf = crlf(in, p, data);
      if (crlf != null) {
        return crlf;
      }
      p += 2;
      if (size == 0) {
        break;
      }
      if (n - p < size) {
        data.write(in, p, n - p);
        return new Reading(Outcome.INCOMPLETE, data.toByteArray(), n);
      }
      data.write(in, p, (int) size);
      p += (int) size;
      crlf = crlf(in, p, data);
      if (crlf != null) {
        return crlf;
      }
      p += 2;
    }
    // trailer section: lines up to CRLF, then an empty line
    for (;;) {
      if (p == n) {
        return new Reading(Outcome.INCOMPLETE, data.toByteArray(), p);
      }
      if (in[p] == '\r') {
        if (p + 1 == n) {
          return new Reading(Outcome.INCOMPLETE, data.toByteArray(), n);
        }
        if (in[p + 1] != '\n') {
          return new Reading(Outcome.REJECTED, data.toByteArray(), p);
        }
        return new Reading(Outcome.DONE, data.toByteArray(), p + 2);
      }
      int length = 0;
      while (p < n && in[p] != '\r') {
        if (in[p] == '\n' || in[p] == 0 || ++length > 8192) {
          return new Reading(Outcome.REJECTED, data.toByteArray(), p);
        }
        p++;
      }
      if (p < n && length + 1 > 8192) {
        return new Reading(Outcome.REJECTED, data.toByteArray(), p);
      }
      Reading r = crlf(in, p, data);
      if (r != null) {
        return r;
      }
      p += 2;
    }
  }

  /** Null if a CRLF is at {@code p}; otherwise why not. */
  private static Reading crlf(byte[] in, int p, ByteArrayOutputStream data) {
    if (p >= in.length) {
      return new Reading(Outcome.INCOMPLETE, data.toByteArray(), in.length);
    }
    if (in[p] != '\r') {
      return new Reading(Outcome.REJECTED, data.toByteArray(), p);
    }
    if (p + 1 >= in.length) {
      return new Reading(Outcome.INCOMPLETE, data.toByteArray(), in.length);
    }
    if (in[p + 1] != '\n') {
      return new Reading(Outcome.REJECTED, data.toByteArray(), p);
    }
    return null;
  }

  private static int hex(byte b) {
    if (b >= '0' && b <= '9') {
      return b - '0';
    }
    if ((b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')) {
      return (b | 0x20) - 'a' + 10;
    }
    return -1;
  }

  /** The decoder's reading, with the input split into random pieces. */
  static Reading decode(byte[] in, Fuzz f) {
    ChunkedDecoder decoder = new ChunkedDecoder();
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    int consumed = 0;
    try {
      while (consumed < in.length && !decoder.isDone()) {
        int piece = f.chance(0.3) ? in.length - consumed : Math.min(in.length - consumed, f.between(1, 64));
        ByteBuffer b = ByteBuffer.wrap(Arrays.copyOfRange(in, consumed, consumed + piece));
        ByteBuffer slice;
        while ((slice = decoder.next(b)) != null) {
          byte[] chunk = new byte[slice.remaining()];
          slice.get(chunk);
          data.write(chunk, 0, chunk.length);
        }
        consumed += b.position();
        if (!decoder.isDone() && b.hasRemaining()) {
          throw new AssertionError("the decoder stopped before the end of a read without finishing");
        }
      }
    } catch (ChunkedDecoder.FramingException e) {
      return new Reading(Outcome.REJECTED, data.toByteArray(), consumed);
    }
    return new Reading(decoder.isDone() ? Outcome.DONE : Outcome.INCOMPLETE, data.toByteArray(), consumed);
  }

  /** A well-formed chunked body, sometimes followed by the bytes of a next message. */
  static byte[] wellFormed(Fuzz f, ByteArrayOutputStream expectedData) {
    StringBuilder sb = new StringBuilder();
    int chunks = f.between(0, 5);
    for (int i = 0; i < chunks; i++) {
      int size = f.chance(0.1) ? f.between(1000, 20_000) : f.between(1, 300);
      sb.append(f.chance(0.2) ? "00" : "").append(f.hex(size)).append(extension(f)).append("\r\n");
      byte[] payload = f.bytes(size);
      expectedData.write(payload, 0, size);
      sb.append(new String(payload, StandardCharsets.ISO_8859_1)).append("\r\n");
    }
    sb.append(f.chance(0.2) ? "000" : "0").append(extension(f)).append("\r\n");
    int trailers = f.chance(0.3) ? f.between(1, 3) : 0;
    for (int i = 0; i < trailers; i++) {
      sb.append(f.token(10)).append(':').append(f.chance(0.5) ? " " : "").append(f.fieldValue(20)).append("\r\n");
    }
    sb.append("\r\n");
    if (f.chance(0.3)) {
      sb.append("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String extension(Fuzz f) {
    if (!f.chance(0.2)) {
      return "";
    }
    String ws = f.chance(0.3) ? " " : "";
    return ws + ";" + ws + f.token(8) + (f.chance(0.5) ? "=" + (f.chance(0.5) ? f.token(8) : "\"q v\"") : "");
  }

  @Test
  void wellFormedBodiesDecodeToTheirDataWhateverTheReadBoundaries() {
    Fuzz f = Fuzz.start("chunked well-formed", 10_000);
    for (int i = 0; i < f.cases; i++) {
      ByteArrayOutputStream expected = new ByteArrayOutputStream();
      byte[] in = wellFormed(f, expected);
      int c = i;
      Reading got = decode(in, f);
      Reading ref = reference(in);
      assertThat(ref.outcome()).as(() -> f.where(c, in)).isEqualTo(Outcome.DONE);
      assertThat(got.outcome()).as(() -> f.where(c, in)).isEqualTo(Outcome.DONE);
      assertThat(got.data()).as(() -> f.where(c, in)).isEqualTo(expected.toByteArray());
      assertThat(got.end()).as(() -> f.where(c, in)).isEqualTo(ref.end());
    }
  }

  @Test
  void mutatedBodiesAreReadExactlyAsTheReferenceReadsThemOrRefused() {
    Fuzz f = Fuzz.start("chunked mutated", 10_000);
    for (int i = 0; i < f.cases; i++) {
      byte[] generated = wellFormed(f, new ByteArrayOutputStream());
      int mutations = f.between(1, 3);
      for (int m = 0; m < mutations; m++) {
        generated = f.mutate(generated);
      }
      byte[] in = generated;
      int c = i;
      Reading ref = reference(in);
      Reading got;
      try {
        got = decode(in, f);
      } catch (RuntimeException e) {
        fail("the decoder threw " + e + " for " + f.where(i, in), e);
        return;
      }
      assertThat(got.outcome()).as(() -> f.where(c, in)).isEqualTo(ref.outcome());
      if (ref.outcome() == Outcome.DONE) {
        assertThat(got.data()).as(() -> f.where(c, in)).isEqualTo(ref.data());
        assertThat(got.end()).as(() -> "where the message ends: " + f.where(c, in)).isEqualTo(ref.end());
      } else if (ref.outcome() == Outcome.INCOMPLETE) {
        assertThat(got.data()).as(() -> f.where(c, in)).isEqualTo(ref.data());
      }
    }
  }
}
