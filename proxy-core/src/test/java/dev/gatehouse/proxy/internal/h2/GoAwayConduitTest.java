package dev.gatehouse.proxy.internal.h2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.Fuzz;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.xnio.XnioIoThread;
import org.xnio.XnioWorker;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.conduits.ReadReadyHandler;
import org.xnio.conduits.StreamSourceConduit;

/** GOAWAY frames leave the byte stream, everything else passes untouched, however the reads split it. */
class GoAwayConduitTest {

  private static byte[] frame(int type, int flags, int stream, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(9 + payload.length);
    b.put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8)).put((byte) payload.length);
    b.put((byte) type).put((byte) flags).putInt(stream).put(payload);
    return b.array();
  }

  /** Hands out its bytes in reads of random sizes. */
  private static final class Source implements StreamSourceConduit {
    private final ByteBuffer data;
    private final Fuzz f;

    Source(byte[] data, Fuzz f) {
      this.data = ByteBuffer.wrap(data);
      this.f = f;
    }

    @Override
    public int read(ByteBuffer dst) {
      if (!data.hasRemaining()) {
        return -1;
      }
      int n = Math.min(Math.min(dst.remaining(), data.remaining()), f.between(0, 40));
      ByteBuffer slice = data.slice();
      slice.limit(n);
      dst.put(slice);
      data.position(data.position() + n);
      return n;
    }

    @Override
    public long read(ByteBuffer[] dsts, int offs, int len) {
      return read(dsts[offs]);
    }

    @Override
    public long transferTo(long position, long count, FileChannel target) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long transferTo(long count, ByteBuffer throughBuffer, StreamSinkChannel target) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void terminateReads() {}

    @Override
    public boolean isReadShutdown() {
      return false;
    }

    @Override
    public void resumeReads() {}

    @Override
    public void suspendReads() {}

    @Override
    public void wakeupReads() {}

    @Override
    public boolean isReadResumed() {
      return false;
    }

    @Override
    public void awaitReadable() {}

    @Override
    public void awaitReadable(long time, TimeUnit timeUnit) {}

    @Override
    public XnioIoThread getReadThread() {
      return null;
    }

    @Override
    public void setReadReadyHandler(ReadReadyHandler handler) {}

    @Override
    public XnioWorker getWorker() {
      return null;
    }
  }

  @Test
  void goAwayFramesAreTakenOutAndReportedAndAllOtherBytesPassInOrder() throws Exception {
    Fuzz f = Fuzz.start("goaway filter", 2_000);
    for (int i = 0; i < f.cases; i++) {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      ByteArrayOutputStream expected = new ByteArrayOutputStream();
      List<String> expectedGoAways = new ArrayList<>();
      int frames = f.between(1, 12);
      for (int k = 0; k < frames; k++) {
        boolean goAway = f.chance(0.25);
        byte[] payload;
        byte[] frame;
        if (goAway) {
          int last = f.between(0, 99) * 2 + 1;
          int code = f.between(0, 2);
          payload = ByteBuffer.allocate(8 + f.between(0, 20)).putInt(last).putInt(code).array();
          frame = frame(7, 0, 0, payload);
          expectedGoAways.add(last + "/" + code);
        } else {
          payload = f.bytes(f.chance(0.2) ? 0 : f.between(1, 300));
          frame = frame(f.pick(new Integer[] {0, 1, 4, 6, 8}), f.between(0, 5), f.between(0, 9), payload);
          expected.write(frame, 0, frame.length);
        }
        all.write(frame, 0, frame.length);
      }
      List<String> goAways = new ArrayList<>();
      GoAwayConduit c = new GoAwayConduit(new Source(all.toByteArray(), f), (last, code) -> goAways.add(last + "/" + code));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (int guard = 0; guard < 100_000; guard++) {
        ByteBuffer dst = ByteBuffer.allocate(f.between(12, 200));
        int n = c.read(dst);
        if (n < 0) {
          break;
        }
        out.write(dst.array(), 0, dst.position());
      }
      int k = i;
      assertThat(out.toByteArray()).as(() -> f.where(k, all.toByteArray())).isEqualTo(expected.toByteArray());
      assertThat(goAways).as(() -> f.where(k, all.toByteArray())).isEqualTo(expectedGoAways);
    }
  }
}
