package dev.gatehouse.proxy.internal.http1;

import java.nio.ByteBuffer;

/**
 * Decodes {@code Transfer-Encoding: chunked} (RFC 9112 §7.1) incrementally, handing out slices of the
 * input that hold data. Chunk extensions are skipped, trailer fields dropped. Strict: a bad size, a
 * missing CRLF or an oversized chunk-size line is an error ({@link FramingException}).
 */
public final class ChunkedDecoder implements BodyDecoder {
  private static final int SIZE = 0;
  private static final int EXT = 1;
  private static final int SIZE_LF = 2;
  private static final int DATA = 3;
  private static final int DATA_CR = 4;
  private static final int DATA_LF = 5;
  private static final int TRAILER_START = 6;
  private static final int TRAILER_LINE = 7;
  private static final int TRAILER_LF = 8;
  private static final int END_LF = 9;
  private static final int DONE = 10;

  private int state = SIZE;
  private long remaining;
  private int sizeDigits;
  private int lineBytes;

  @Override
  public ByteBuffer next(ByteBuffer in) {
    while (in.hasRemaining()) {
      switch (state) {
        case DATA: {
          int n = (int) Math.min(remaining, in.remaining());
          ByteBuffer slice = in.slice();
          slice.limit(n);
          in.position(in.position() + n);
          remaining -= n;
          if (remaining == 0) {
            state = DATA_CR;
          }
          return slice;
        }
        case SIZE: {
          byte b = in.get();
          int d = hex(b);
          if (d >= 0) {
            if (++sizeDigits > 15) {
              throw error("chunk size too large");
            }
            remaining = remaining * 16 + d;
          } else if (sizeDigits == 0) {
            throw error("invalid chunk size");
          } else if (b == ';' || b == ' ' || b == '\t') {
            state = EXT;
          } else if (b == '\r') {
            state = SIZE_LF;
          } else {
            throw error("invalid chunk size");
          }
          break;
        }
        case EXT: {
          byte b = in.get();
          if (++lineBytes > 4096) {
            throw error("chunk extension too long");
          }
          if (b == '\r') {
            state = SIZE_LF;
          } else if (b == '\n' || b == 0) {
            throw error("invalid chunk extension");
          }
          break;
        }
        case SIZE_LF: {
          if (in.get() != '\n') {
            throw error("missing LF after chunk size");
          }
          sizeDigits = 0;
          lineBytes = 0;
          state = remaining == 0 ? TRAILER_START : DATA;
          break;
        }
        case DATA_CR: {
          if (in.get() != '\r') {
            throw error("missing CRLF after chunk data");
          }
          state = DATA_LF;
          break;
        }
        case DATA_LF: {
          if (in.get() != '\n') {
            throw error("missing CRLF after chunk data");
          }
          state = SIZE;
          remaining = 0;
          break;
        }
        case TRAILER_START: {
          byte b = in.get();
          if (b == '\r') {
            state = END_LF;
          } else if (b == '\n' || b == 0) {
            throw error("invalid trailer");
          } else {
            lineBytes = 1;
            state = TRAILER_LINE;
          }
          break;
        }
        case TRAILER_LINE: {
          byte b = in.get();
          if (++lineBytes > 8192) {
            throw error("trailer too long");
          }
          if (b == '\r') {
            state = TRAILER_LF;
          } else if (b == '\n' || b == 0) {
            throw error("invalid trailer");
          }
          break;
        }
        case TRAILER_LF: {
          if (in.get() != '\n') {
            throw error("invalid trailer");
          }
          state = TRAILER_START;
          break;
        }
        case END_LF: {
          if (in.get() != '\n') {
            throw error("missing final CRLF");
          }
          state = DONE;
          return null;
        }
        default:
          return null;
      }
    }
    return null;
  }

  @Override
  public boolean isDone() {
    return state == DONE;
  }

  @Override
  public boolean endsAtClose() {
    return false;
  }

  private static int hex(byte b) {
    if (b >= '0' && b <= '9') {
      return b - '0';
    }
    if (b >= 'a' && b <= 'f') {
      return b - 'a' + 10;
    }
    if (b >= 'A' && b <= 'F') {
      return b - 'A' + 10;
    }
    return -1;
  }

  private static FramingException error(String what) {
    return new FramingException("malformed chunked body: " + what);
  }

  /** The chunked framing is broken; callers map it to 400 (request) or 502 (response). */
  public static final class FramingException extends RuntimeException {
    FramingException(String message) {
      super(message, null, false, false);
    }
  }
}
