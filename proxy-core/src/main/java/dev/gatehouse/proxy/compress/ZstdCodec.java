package dev.gatehouse.proxy.compress;

import com.github.luben.zstd.EndDirective;
import com.github.luben.zstd.ZstdCompressCtx;
import java.nio.ByteBuffer;

/** zstd through zstd-jni's streaming context. Loaded only when zstd is used. */
final class ZstdCodec {
  private static final int IN = 16 * 1024;
  private static final int OUT = 32 * 1024;
  /** Direct scratch buffers (zstd-jni streams only direct memory), used within one call on an I/O thread. */
  private static final ThreadLocal<ByteBuffer> IN_BUFFER = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(IN));
  private static final ThreadLocal<ByteBuffer> OUT_BUFFER = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(OUT));
  private static final ByteBuffer NO_INPUT = ByteBuffer.allocateDirect(0);
  /** RFC 9659: a decoder need not accept windows over 8 MiB. */
  private static final int MAX_WINDOW_LOG = 23;

  private ZstdCodec() {}

  /** A streaming zstd compressor. */
  static final class Compressor extends StreamEncoder {
    private ZstdCompressCtx ctx;

    Compressor(int level, boolean flushEachChunk) {
      super(flushEachChunk);
      ctx = new ZstdCompressCtx();
      ctx.setLevel(level);
      ctx.setChecksum(false);
      ctx.setWindowLog(Math.min(MAX_WINDOW_LOG, windowLogFor(level)));
    }

    /** zstd's own window for an unknown size at {@code level}, never above what HTTP allows. */
    private static int windowLogFor(int level) {
      return level <= 2 ? 19 : level <= 5 ? 21 : level <= 12 ? 22 : MAX_WINDOW_LOG;
    }

    @Override
    void compress(ByteBuffer chunk, boolean flush, Output out) {
      if (chunk.isDirect()) {
        stream(chunk.duplicate(), EndDirective.CONTINUE, out);
        chunk.position(chunk.limit());
      } else {
        ByteBuffer in = IN_BUFFER.get();
        while (chunk.hasRemaining()) {
          in.clear();
          int n = Math.min(in.remaining(), chunk.remaining());
          ByteBuffer slice = chunk.duplicate();
          slice.limit(slice.position() + n);
          in.put(slice);
          chunk.position(chunk.position() + n);
          in.flip();
          stream(in, EndDirective.CONTINUE, out);
        }
      }
      if (flush) {
        stream(NO_INPUT.duplicate(), EndDirective.FLUSH, out);
      }
    }

    @Override
    void end(Output out) {
      stream(NO_INPUT.duplicate(), EndDirective.END, out);
    }

    private void stream(ByteBuffer src, EndDirective directive, Output out) {
      ByteBuffer dst = OUT_BUFFER.get();
      boolean done;
      do {
        dst.clear();
        done = ctx.compressDirectByteBufferStream(dst, src, directive);
        dst.flip();
        out.write(dst);
      } while (src.hasRemaining() || (directive != EndDirective.CONTINUE && !done));
    }

    @Override
    void release() {
      if (ctx != null) {
        ctx.close();
        ctx = null;
      }
    }
  }
}
