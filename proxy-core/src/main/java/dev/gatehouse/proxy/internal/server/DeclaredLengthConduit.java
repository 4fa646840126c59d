package dev.gatehouse.proxy.internal.server;

import io.undertow.server.HttpServerExchange;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.conduits.AbstractStreamSourceConduit;
import org.xnio.conduits.ConduitReadableByteChannel;
import org.xnio.conduits.Conduits;
import org.xnio.conduits.StreamSourceConduit;

/**
 * Holds an HTTP/2 request body to its {@code content-length}. An HTTP/2 body ends with the stream, not
 * at the declared length, and RFC 9113 §8.1.1 makes a mismatch malformed; Undertow passes every DATA
 * byte on. A proxy that forwarded them to an HTTP/1.1 upstream under the declared length would let the
 * surplus be read there as a second request (H2.CL smuggling), and a short body would leave the
 * upstream waiting for bytes that never come.
 *
 * <p>So this never hands out more than the declared length, fails with an {@link IOException} when the
 * stream carries more or ends short, and <em>withholds the last byte until the stream has ended</em>:
 * whoever forwards the body under the declared length can never complete the upstream request before
 * the client's stream is known to be exactly that long. A failure is answered like any malformed body
 * (400 before the response, the stream reset after it) and the upstream request is abandoned unfinished.
 */
final class DeclaredLengthConduit extends AbstractStreamSourceConduit<StreamSourceConduit> {
  private final long declared;
  /** Bytes taken from the stream, the withheld last one included. */
  private long taken;
  /** The last declared byte, held until the end of the stream is seen. */
  private final ByteBuffer last = ByteBuffer.allocate(1);
  private final ByteBuffer probe = ByteBuffer.allocate(1);
  private boolean ended;
  private String failure;

  private DeclaredLengthConduit(StreamSourceConduit next, long declared) {
    super(next);
    this.declared = declared;
    last.limit(0);
  }

  /** Puts the length check under an HTTP/2 request's body. */
  static void install(HttpServerExchange exchange, long declared) {
    exchange.addRequestWrapper((factory, x) -> new DeclaredLengthConduit(factory.create(), declared));
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    if (failure != null) {
      throw new IOException(failure);
    }
    if (ended && !last.hasRemaining()) {
      return -1;
    }
    if (!dst.hasRemaining()) {
      return 0;
    }
    if (taken < declared - 1) {
      int limit = dst.limit();
      long room = declared - 1 - taken;
      if (dst.remaining() > room) {
        dst.limit(dst.position() + (int) room);
      }
      int n;
      try {
        n = next.read(dst);
      } finally {
        dst.limit(limit);
      }
      if (n < 0) {
        throw fail("request body ended after " + taken + " of its content-length " + declared + " bytes");
      }
      taken += n;
      return n;
    }
    if (taken == declared - 1) {
      last.clear();
      int n = next.read(last);
      if (n < 0) {
        last.limit(0);
        throw fail("request body ended after " + taken + " of its content-length " + declared + " bytes");
      }
      last.flip();
      if (n == 0) {
        return 0;
      }
      taken = declared;
    }
    if (!ended) {
      probe.clear();
      int n = next.read(probe);
      if (n > 0) {
        throw fail("request body longer than its content-length " + declared);
      }
      if (n == 0) {
        return 0;
      }
      ended = true;
    }
    if (last.hasRemaining()) {
      dst.put(last);
      return 1;
    }
    return -1;
  }

  private IOException fail(String message) {
    failure = message;
    return new IOException(message);
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    for (int i = offset; i < offset + length; i++) {
      if (dsts[i].hasRemaining()) {
        return read(dsts[i]);
      }
    }
    return 0;
  }

  @Override
  public long transferTo(long position, long count, FileChannel target) throws IOException {
    return target.transferFrom(new ConduitReadableByteChannel(this), position, count);
  }

  @Override
  public long transferTo(long count, ByteBuffer throughBuffer, StreamSinkChannel target) throws IOException {
    return Conduits.transfer(this, count, throughBuffer, target);
  }
}
