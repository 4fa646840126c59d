package dev.gatehouse.proxy.internal.h2;

import dev.gatehouse.proxy.internal.server.Engine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.conduits.AbstractStreamSourceConduit;
import org.xnio.conduits.ConduitReadableByteChannel;
import org.xnio.conduits.Conduits;
import org.xnio.conduits.StreamSourceConduit;

/**
 * Takes GOAWAY frames out of what an HTTP/2 upstream sends, before Undertow's {@code Http2Channel} sees
 * them, and reports them instead. Undertow treats every GOAWAY as the end of all streams and resets
 * them, though RFC 9113 §6.8 makes a GOAWAY a promise: the streams up to its last stream id will still
 * be answered, and only those above it were not processed (and may be retried anywhere). With the frame
 * removed, the streams the upstream will answer complete as usual, and {@link H2Sessions} retires the
 * connection and sends the refused streams elsewhere itself.
 *
 * <p>Sits on the plaintext side of the connection (above TLS), where the upstream's bytes are HTTP/2
 * frames from the first byte on. Frames are tracked by their 9-byte headers across reads; only GOAWAY
 * bytes are dropped, everything else passes in order, untouched.
 */
final class GoAwayConduit extends AbstractStreamSourceConduit<StreamSourceConduit> {
  private static final int FRAME_HEADER = 9;
  private static final int TYPE_GOAWAY = 0x7;

  /** Told about each GOAWAY, on the connection's I/O thread, while Undertow is reading. */
  interface Listener {
    void onGoAway(int lastStreamId, int errorCode);
  }

  private final Listener listener;
  /** Bytes read from the connection, processed within the same call. */
  private final ByteBuffer in = ByteBuffer.allocate(Engine.BUFFER_SIZE + FRAME_HEADER);
  private final byte[] header = new byte[FRAME_HEADER];
  private int headerHave;
  /** Payload bytes of the current frame still to come. */
  private long payloadLeft;
  private boolean dropping;
  /** The first eight payload bytes of a GOAWAY: last stream id and error code. */
  private final byte[] goAway = new byte[8];
  private int goAwayHave;

  GoAwayConduit(StreamSourceConduit next, Listener listener) {
    super(next);
    this.listener = listener;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    for (;;) {
      // what is written to dst is never more than what is read now plus a frame header held from before
      int room = Math.min(in.capacity(), dst.remaining() - headerHave);
      if (room <= 0) {
        return 0;
      }
      in.clear().limit(room);
      int n = next.read(in);
      if (n <= 0) {
        return n;
      }
      in.flip();
      int before = dst.position();
      process(dst);
      int kept = dst.position() - before;
      if (kept > 0) {
        return kept;
      }
      // all of it belonged to a GOAWAY or to a header not complete yet: read on (0 would mean "nothing")
    }
  }

  private void process(ByteBuffer dst) {
    while (in.hasRemaining()) {
      if (payloadLeft == 0 && headerHave < FRAME_HEADER) {
        header[headerHave++] = in.get();
        if (headerHave < FRAME_HEADER) {
          continue;
        }
        payloadLeft = ((header[0] & 0xFFL) << 16) | ((header[1] & 0xFFL) << 8) | (header[2] & 0xFFL);
        dropping = (header[3] & 0xFF) == TYPE_GOAWAY;
        goAwayHave = 0;
        if (!dropping) {
          dst.put(header);
        }
        if (payloadLeft == 0) {
          frameDone();
        }
        continue;
      }
      int take = (int) Math.min(payloadLeft, in.remaining());
      if (dropping) {
        for (int i = 0; i < take; i++) {
          byte b = in.get();
          if (goAwayHave < goAway.length) {
            goAway[goAwayHave++] = b;
          }
        }
      } else {
        int limit = in.limit();
        in.limit(in.position() + take);
        dst.put(in);
        in.limit(limit);
      }
      payloadLeft -= take;
      if (payloadLeft == 0) {
        frameDone();
      }
    }
  }

  private void frameDone() {
    headerHave = 0;
    if (dropping) {
      dropping = false;
      int last = ((goAway[0] & 0x7F) << 24) | ((goAway[1] & 0xFF) << 16) | ((goAway[2] & 0xFF) << 8) | (goAway[3] & 0xFF);
      int code = ((goAway[4] & 0xFF) << 24) | ((goAway[5] & 0xFF) << 16) | ((goAway[6] & 0xFF) << 8) | (goAway[7] & 0xFF);
      listener.onGoAway(goAwayHave >= 4 ? last : 0, goAwayHave >= 8 ? code : 0);
    }
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
