package dev.gatehouse.proxy.internal.http1;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * Frames a request body as {@code Transfer-Encoding: chunked} (RFC 9112 §7.1) when its length is not
 * known up front: each slice becomes one chunk, and the body ends with the last chunk and no trailers.
 * The data itself is not copied; the framing goes in buffers of its own around it.
 */
final class ChunkedEncoder {
  private static final byte[] CRLF = {'\r', '\n'};
  private static final byte[] LAST_CHUNK = {'0', '\r', '\n', '\r', '\n'};

  private ChunkedEncoder() {}

  /** Queues {@code data} as one chunk: its size line, the data, CRLF. */
  static void chunk(ArrayDeque<ByteBuffer> out, ByteBuffer data) {
    out.add(ByteBuffer.wrap((Integer.toHexString(data.remaining()) + "\r\n").getBytes(StandardCharsets.US_ASCII)));
    out.add(data);
    out.add(ByteBuffer.wrap(CRLF));
  }

  /** Queues the last chunk, which ends the body. */
  static void last(ArrayDeque<ByteBuffer> out) {
    out.add(ByteBuffer.wrap(LAST_CHUNK));
  }
}
