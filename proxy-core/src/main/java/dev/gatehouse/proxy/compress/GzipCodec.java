package dev.gatehouse.proxy.compress;

import java.nio.ByteBuffer;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/** gzip (RFC 1952) with the JDK's zlib: a raw deflate stream framed by the gzip header and trailer. */
final class GzipCodec {
  private static final int SCRATCH = 16 * 1024;
  /** Scratch output, used and emptied within one call on an I/O thread. */
  private static final ThreadLocal<ByteBuffer> SCRATCH_BUFFER = ThreadLocal.withInitial(() -> ByteBuffer.allocate(SCRATCH));
  /** Magic, deflate, no flags, no mtime, no extra flags, OS unknown. */
  private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};
  private static final byte[] NO_INPUT = new byte[0];

  private GzipCodec() {}

  /** A streaming gzip compressor. */
  static final class Compressor extends StreamEncoder {
    private final Deflater deflater;
    private final CRC32 crc = new CRC32();
    private long size;
    private boolean headerWritten;

    Compressor(int level, boolean flushEachChunk) {
      super(flushEachChunk);
      this.deflater = new Deflater(level, true);
    }

    @Override
    void compress(ByteBuffer chunk, boolean flush, Output out) {
      header(out);
      size += chunk.remaining();
      crc.update(chunk.duplicate());
      deflater.setInput(chunk);
      deflate(Deflater.NO_FLUSH, out);
      deflater.setInput(NO_INPUT); // the chunk is borrowed: keep no reference to it
      if (flush) {
        deflate(Deflater.SYNC_FLUSH, out);
      }
    }

    private void header(Output out) {
      if (!headerWritten) {
        headerWritten = true;
        out.write(HEADER, 0, HEADER.length);
      }
    }

    private void deflate(int mode, Output out) {
      ByteBuffer scratch = SCRATCH_BUFFER.get();
      while (true) {
        scratch.clear();
        int n = deflater.deflate(scratch, mode);
        scratch.flip();
        out.write(scratch);
        if (mode == Deflater.NO_FLUSH ? deflater.needsInput() : n < SCRATCH) {
          return;
        }
      }
    }

    @Override
    void end(Output out) {
      header(out);
      deflater.finish();
      ByteBuffer scratch = SCRATCH_BUFFER.get();
      while (!deflater.finished()) {
        scratch.clear();
        deflater.deflate(scratch);
        scratch.flip();
        out.write(scratch);
      }
      byte[] trailer = new byte[8];
      writeIntLe(trailer, 0, (int) crc.getValue());
      writeIntLe(trailer, 4, (int) size);
      out.write(trailer, 0, 8);
    }

    @Override
    void release() {
      deflater.end();
    }
  }

  private static void writeIntLe(byte[] b, int off, int v) {
    b[off] = (byte) v;
    b[off + 1] = (byte) (v >>> 8);
    b[off + 2] = (byte) (v >>> 16);
    b[off + 3] = (byte) (v >>> 24);
  }

  /**
   * A streaming gzip decompressor: header (with its optional fields), deflate data, trailer (CRC-32 and
   * length checked); several members one after another are decoded as one body, as RFC 1952 allows.
   */
  static final class Decompressor extends StreamDecoder {
    private static final int FTEXT_HCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;

    private enum State { HEADER, EXTRA_LENGTH, EXTRA, NAME, COMMENT, HEADER_CRC, DATA, TRAILER }

    private final Inflater inflater = new Inflater(true);
    private final CRC32 crc = new CRC32();
    private final byte[] fixed = new byte[10];
    private State state = State.HEADER;
    private int have;
    private int flags;
    private int skip;
    private long memberSize;

    Decompressor(long maxBytes) {
      super(maxBytes);
    }

    @Override
    void decompress(ByteBuffer chunk, Output out) {
      while (chunk.hasRemaining()) {
        switch (state) {
          case HEADER:
            complete = false;
            if (collect(chunk, 10)) {
              if ((fixed[0] & 0xff) != 0x1f || (fixed[1] & 0xff) != 0x8b) {
                throw malformed("not gzip data");
              }
              if (fixed[2] != 8) {
                throw malformed("gzip data with an unknown compression method");
              }
              flags = fixed[3] & 0xff;
              state = next(State.HEADER);
            }
            break;
          case EXTRA_LENGTH:
            if (collect(chunk, 2)) {
              skip = (fixed[0] & 0xff) | (fixed[1] & 0xff) << 8;
              state = State.EXTRA;
            }
            break;
          case EXTRA:
            int n = Math.min(skip, chunk.remaining());
            chunk.position(chunk.position() + n);
            skip -= n;
            if (skip == 0) {
              state = next(State.EXTRA);
            }
            break;
          case NAME:
          case COMMENT:
            while (chunk.hasRemaining()) {
              if (chunk.get() == 0) {
                state = next(state);
                break;
              }
            }
            break;
          case HEADER_CRC:
            if (collect(chunk, 2)) {
              state = State.DATA;
            }
            break;
          case DATA:
            inflate(chunk, out);
            break;
          case TRAILER:
            if (collect(chunk, 8)) {
              long expectedCrc = readIntLe(0) & 0xffffffffL;
              long expectedSize = readIntLe(4) & 0xffffffffL;
              if (expectedCrc != crc.getValue() || expectedSize != (memberSize & 0xffffffffL)) {
                throw malformed("gzip data fails its CRC or length check");
              }
              complete = true;
              inflater.reset();
              crc.reset();
              memberSize = 0;
              state = State.HEADER;
            }
            break;
          default:
            throw new IllegalStateException(state.toString());
        }
      }
    }

    /** The header part after {@code done}, skipping those the flags leave out. */
    @SuppressWarnings("fallthrough") // each optional part falls through to the next
    private State next(State done) {
      switch (done) {
        case HEADER:
          if ((flags & FEXTRA) != 0) {
            return State.EXTRA_LENGTH;
          }
          // fall through
        case EXTRA:
          if ((flags & FNAME) != 0) {
            return State.NAME;
          }
          // fall through
        case NAME:
          if ((flags & FCOMMENT) != 0) {
            return State.COMMENT;
          }
          // fall through
        case COMMENT:
          return (flags & FTEXT_HCRC) != 0 ? State.HEADER_CRC : State.DATA;
        default:
          throw new IllegalStateException(done.toString());
      }
    }

    private void inflate(ByteBuffer chunk, Output out) {
      inflater.setInput(chunk);
      ByteBuffer scratch = SCRATCH_BUFFER.get();
      try {
        while (true) {
          scratch.clear();
          int n = inflater.inflate(scratch);
          scratch.flip();
          if (n > 0) {
            crc.update(scratch.duplicate());
            memberSize += n;
            out.write(scratch);
          }
          if (inflater.finished()) {
            state = State.TRAILER;
            break;
          }
          if (inflater.needsDictionary()) {
            throw malformed("deflate data needs a preset dictionary");
          }
          if (n == 0 && inflater.needsInput()) {
            break;
          }
        }
      } catch (DataFormatException e) {
        throw malformed("corrupt gzip data");
      } finally {
        inflater.setInput(NO_INPUT);
      }
    }

    private boolean collect(ByteBuffer chunk, int want) {
      int n = Math.min(want - have, chunk.remaining());
      chunk.get(fixed, have, n);
      have += n;
      if (have == want) {
        have = 0;
        return true;
      }
      return false;
    }

    private int readIntLe(int off) {
      return (fixed[off] & 0xff) | (fixed[off + 1] & 0xff) << 8 | (fixed[off + 2] & 0xff) << 16
          | (fixed[off + 3] & 0xff) << 24;
    }

    @Override
    void release() {
      inflater.end();
    }
  }
}
