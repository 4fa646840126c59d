package dev.gatehouse.proxy.compress;

import com.aayushatharva.brotli4j.Brotli4jLoader;
import com.aayushatharva.brotli4j.decoder.DecoderJNI;
import com.aayushatharva.brotli4j.encoder.Encoder;
import com.aayushatharva.brotli4j.encoder.EncoderJNI;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/** Brotli through brotli4j's streaming JNI wrappers. Loaded only when Brotli is used. */
final class BrotliCodec {
  /** Window of 1 MiB: a good ratio for web content with bounded memory per response. */
  private static final int LG_WIN = 20;
  private static final int INPUT_BUFFER = 16 * 1024;

  private BrotliCodec() {}

  static boolean nativeAvailable() {
    try {
      return Brotli4jLoader.isAvailable();
    } catch (LinkageError e) {
      return false;
    }
  }

  static String unavailabilityCause() {
    try {
      Throwable t = Brotli4jLoader.getUnavailabilityCause();
      return t == null ? "unknown cause" : t.toString();
    } catch (LinkageError e) {
      return e.toString();
    }
  }

  /** A streaming Brotli compressor. */
  static final class Compressor extends StreamEncoder {
    private EncoderJNI.Wrapper w;

    Compressor(int quality, boolean flushEachChunk) {
      super(flushEachChunk);
      Brotli4jLoader.ensureAvailability();
      try {
        w = new EncoderJNI.Wrapper(INPUT_BUFFER, quality, LG_WIN, Encoder.Mode.GENERIC);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create a Brotli encoder", e);
      }
    }

    @Override
    void compress(ByteBuffer chunk, boolean flush, Output out) {
      ByteBuffer in = w.getInputBuffer();
      while (chunk.hasRemaining()) {
        in.clear();
        int n = Math.min(in.remaining(), chunk.remaining());
        ByteBuffer slice = chunk.duplicate();
        slice.limit(slice.position() + n);
        in.put(slice);
        chunk.position(chunk.position() + n);
        run(EncoderJNI.Operation.PROCESS, n, out);
      }
      if (flush) {
        run(EncoderJNI.Operation.FLUSH, 0, out);
      }
    }

    @Override
    void end(Output out) {
      run(EncoderJNI.Operation.FINISH, 0, out);
    }

    private void run(EncoderJNI.Operation op, int length, Output out) {
      w.push(op, length);
      while (true) {
        if (!w.isSuccess()) {
          throw new IllegalStateException("Brotli encoding failed");
        }
        if (w.hasMoreOutput()) {
          out.write(w.pull());
        } else if (w.hasRemainingInput()) {
          w.push(op, 0);
        } else if (op == EncoderJNI.Operation.FINISH && !w.isFinished()) {
          w.push(op, 0);
        } else {
          return;
        }
      }
    }

    @Override
    void release() {
      if (w != null) {
        w.destroy();
        w = null;
      }
    }
  }

  /** A streaming Brotli decompressor. */
  static final class Decompressor extends StreamDecoder {
    private DecoderJNI.Wrapper w;

    Decompressor(long maxBytes) {
      super(maxBytes);
      Brotli4jLoader.ensureAvailability();
      try {
        w = new DecoderJNI.Wrapper(INPUT_BUFFER);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create a Brotli decoder", e);
      }
    }

    @Override
    void decompress(ByteBuffer chunk, Output out) {
      while (true) {
        switch (w.getStatus()) {
          case NEEDS_MORE_INPUT:
            if (w.hasOutput()) {
              // output may have stopped the decoder short of the input it holds: let it go on
              out.write(w.pull());
              w.push(0);
              break;
            }
            if (!chunk.hasRemaining()) {
              return;
            }
            ByteBuffer in = w.getInputBuffer();
            in.clear();
            int n = Math.min(in.remaining(), chunk.remaining());
            ByteBuffer slice = chunk.duplicate();
            slice.limit(slice.position() + n);
            in.put(slice);
            chunk.position(chunk.position() + n);
            w.push(n);
            break;
          case OK:
            w.push(0);
            break;
          case NEEDS_MORE_OUTPUT:
            out.write(w.pull());
            break;
          case DONE:
            if (w.hasOutput()) {
              out.write(w.pull());
              break;
            }
            if (chunk.hasRemaining()) {
              throw malformed("data after the end of the br stream");
            }
            complete = true;
            return;
          default:
            throw malformed("corrupt br data");
        }
      }
    }

    @Override
    void release() {
      if (w != null) {
        w.destroy();
        w = null;
      }
    }
  }
}
