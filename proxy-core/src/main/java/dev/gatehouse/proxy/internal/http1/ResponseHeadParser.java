package dev.gatehouse.proxy.internal.http1;

import dev.gatehouse.proxy.UpstreamResponseException;
import io.undertow.util.HeaderMap;
import io.undertow.util.HttpString;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A strict, incremental parser for an HTTP/1.x response head (RFC 9112 §4-5). Lines must end in CRLF; a
 * NUL or a bare CR anywhere, whitespace before a field's colon, an invalid field name or status line
 * fail the parse (the caller answers 502). An obs-fold is replaced by a single space (§5.2).
 */
public final class ResponseHeadParser {
  /** The largest response head accepted, in bytes. */
  public static final int MAX_HEAD_BYTES = 64 * 1024;
  /** The most field lines accepted in a response head. */
  public static final int MAX_FIELDS = 256;

  /** Heads that arrive whole (nearly all) are parsed in a per-thread array; only partial ones get their own. */
  private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[2048]);
  private static final byte[] NONE = new byte[0];

  private byte[] own = NONE;
  private byte[] data = NONE;
  private int size;
  private int scanFrom;

  private int status;
  private String reason;
  private String protocol;
  private HeaderMap headers;
  /** Where a final (non-1xx) response's fields go, e.g. the exchange's own map; null for a new map. */
  private HeaderMap finalTarget;

  /**
   * Parses a final (non-1xx) response's fields into {@code target} (cleared first), e.g. the client
   * exchange's own response map, so nothing is copied when it is committed.
   */
  public void finalTarget(HeaderMap target) {
    this.finalTarget = target;
  }

  /** The status code of the head parsed last. */
  public int status() {
    return status;
  }

  /** The reason phrase of the head parsed last ({@code ""} when it had none). */
  public String reason() {
    return reason;
  }

  /** {@code HTTP/1.1} or {@code HTTP/1.0}, from the head parsed last. */
  public String protocol() {
    return protocol;
  }

  /** The fields of the head parsed last. */
  public HeaderMap headers() {
    return headers;
  }

  /** Forgets the head parsed last, for the next one (after an interim response). */
  public void reset() {
    size = 0;
    scanFrom = 0;
    status = 0;
    reason = null;
    protocol = null;
    headers = null;
  }

  /**
   * Consumes bytes from {@code in} up to the end of the head. Returns true when a complete head was
   * parsed ({@code in} is then positioned at the first body byte), false when more bytes are needed.
   */
  public boolean feed(ByteBuffer in) {
    int start = in.position();
    int limit = in.limit();
    int end = -1;
    // find the blank line, counting bytes already held from earlier reads
    for (int i = start; i < limit; i++) {
      if (in.get(i) == '\n' && endsHeadAt(in, start, i)) {
        end = i + 1;
        break;
      }
    }
    int take = (end < 0 ? limit : end) - start;
    if (size + take > MAX_HEAD_BYTES) {
      throw new UpstreamResponseException("upstream response head larger than " + MAX_HEAD_BYTES + " bytes");
    }
    if (size == 0 && end >= 0) {
      byte[] scratch = SCRATCH.get();
      if (take > scratch.length) {
        scratch = new byte[Math.max(take, scratch.length * 2)];
        SCRATCH.set(scratch);
      }
      data = scratch;
    } else {
      if (size + take > own.length) {
        own = Arrays.copyOf(own, Math.min(MAX_HEAD_BYTES, Math.max(size + take, Math.max(512, own.length * 2))));
      }
      data = own;
    }
    in.get(data, size, take);
    size += take;
    if (end < 0) {
      return false;
    }
    try {
      parse();
    } finally {
      data = own;
    }
    return true;
  }

  /** Whether the LF at {@code i} completes CRLF CRLF, looking back into earlier bytes if needed. */
  private boolean endsHeadAt(ByteBuffer in, int start, int i) {
    return at(in, start, i - 1) == '\r' && at(in, start, i - 2) == '\n' && at(in, start, i - 3) == '\r';
  }

  private byte at(ByteBuffer in, int start, int i) {
    if (i >= start) {
      return in.get(i);
    }
    int k = size - (start - i);
    return k >= 0 ? data[k] : 0;
  }

  public boolean hasPartialData() {
    return size > 0;
  }

  private void parse() {
    int end = size - 2; // exclude the final CRLF
    int lineStart = 0;
    int lineEnd = indexOfCrlf(0, end);
    parseStatusLine(lineStart, lineEnd);
    if (status >= 200 && finalTarget != null) {
      headers = finalTarget;
      headers.clear();
    } else {
      headers = new HeaderMap();
    }
    int fields = 0;
    HttpString lastName = null;
    int pos = lineEnd + 2;
    while (pos < end) {
      int le = indexOfCrlf(pos, end);
      if (data[pos] == ' ' || data[pos] == '\t') {
        // obs-fold: continue the previous value with one space
        if (lastName == null) {
          throw new UpstreamResponseException("upstream response starts its fields with a folded line");
        }
        String more = value(pos, le);
        String prev = headers.get(lastName).removeLast();
        headers.add(lastName, more.isEmpty() ? prev : prev.isEmpty() ? more : prev + " " + more);
        pos = le + 2;
        continue;
      }
      if (++fields > MAX_FIELDS) {
        throw new UpstreamResponseException("upstream response has more than " + MAX_FIELDS + " fields");
      }
      int colon = -1;
      for (int i = pos; i < le; i++) {
        byte c = data[i];
        if (c == ':') {
          colon = i;
          break;
        }
        if (!Http.isTokenChar(c)) {
          throw new UpstreamResponseException("upstream response has an invalid field name");
        }
      }
      if (colon <= pos) {
        throw new UpstreamResponseException("upstream response has an invalid field line");
      }
      HttpString hs = HeaderNames.of(data, pos, colon - pos);
      headers.add(hs, value(colon + 1, le));
      lastName = hs;
      pos = le + 2;
    }
  }

  private void parseStatusLine(int start, int end) {
    // HTTP/1.x SP 3DIGIT SP [reason]
    if (end - start < 12 || data[start] != 'H' || data[start + 1] != 'T' || data[start + 2] != 'T'
        || data[start + 3] != 'P' || data[start + 4] != '/' || data[start + 5] != '1' || data[start + 6] != '.'
        || (data[start + 7] != '1' && data[start + 7] != '0') || data[start + 8] != ' ') {
      throw new UpstreamResponseException("upstream sent an invalid status line");
    }
    protocol = data[start + 7] == '1' ? "HTTP/1.1" : "HTTP/1.0";
    int s = 0;
    for (int i = start + 9; i < start + 12; i++) {
      byte c = data[i];
      if (c < '0' || c > '9') {
        throw new UpstreamResponseException("upstream sent an invalid status code");
      }
      s = s * 10 + (c - '0');
    }
    if (s < 100 || s > 599) {
      throw new UpstreamResponseException("upstream sent status " + s + " (expected: 100-599)");
    }
    status = s;
    if (end > start + 12) {
      if (data[start + 12] != ' ') {
        throw new UpstreamResponseException("upstream sent an invalid status line");
      }
      reason = new String(data, start + 13, end - start - 13, StandardCharsets.ISO_8859_1);
    } else {
      reason = "";
    }
  }

  /** The next CRLF at or after {@code from}; rejects any other control character on the way. */
  private int indexOfCrlf(int from, int end) {
    byte[] d = data;
    for (int i = from; i < end + 2 && i + 1 < size; i++) {
      byte c = d[i];
      if ((c >= 0x20 && c != 0x7F) || c < 0) {
        continue; // the common case; negative bytes are obs-text (0x80-0xFF), allowed in values
      }
      if (c == '\r') {
        if (d[i + 1] != '\n') {
          throw new UpstreamResponseException("upstream response contains a bare CR");
        }
        return i;
      }
      if (c == '\n') {
        throw new UpstreamResponseException("upstream response contains a bare LF");
      }
      if (c == 0) {
        throw new UpstreamResponseException("upstream response contains NUL");
      }
      if (c != '\t') {
        throw new UpstreamResponseException("upstream response contains a control character in a field");
      }
    }
    throw new UpstreamResponseException("upstream response head is truncated");
  }

  /** A field value between {@code from} and {@code to}, without surrounding whitespace (already validated). */
  private String value(int from, int to) {
    while (from < to && (data[from] == ' ' || data[from] == '\t')) {
      from++;
    }
    while (to > from && (data[to - 1] == ' ' || data[to - 1] == '\t')) {
      to--;
    }
    return new String(data, from, to - from, StandardCharsets.ISO_8859_1);
  }

}
