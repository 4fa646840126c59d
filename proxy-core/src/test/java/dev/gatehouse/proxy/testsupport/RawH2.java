package dev.gatehouse.proxy.testsupport;

import io.undertow.protocols.http2.HpackDecoder;
import io.undertow.protocols.http2.HpackException;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A raw HTTP/2 client (h2c with prior knowledge) whose frames the test builds byte by byte, so that it
 * can send what a real client library refuses to: CR, LF or NUL in values, colons and upper case in
 * names, bodies that disagree with {@code content-length}, fields split over CONTINUATION frames.
 * Request fields are encoded as HPACK literals without indexing and without Huffman coding, exactly as
 * given; responses are decoded with Undertow's HPACK decoder.
 */
public final class RawH2 implements AutoCloseable {
  public static final int DATA = 0;
  public static final int HEADERS = 1;
  public static final int RST_STREAM = 3;
  public static final int SETTINGS = 4;
  public static final int PING = 6;
  public static final int GOAWAY = 7;
  public static final int WINDOW_UPDATE = 8;
  public static final int CONTINUATION = 9;
  public static final int END_STREAM = 0x1;
  public static final int END_HEADERS = 0x4;
  public static final int PROTOCOL_ERROR = 1;

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final HpackDecoder decoder = new HpackDecoder();
  private boolean peerGone;

  private RawH2(int port) throws IOException {
    socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(10_000);
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
    out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    frame(SETTINGS, 0, 0, new byte[0]);
  }

  /** Opens a connection and sends the preface and an empty SETTINGS frame. */
  public static RawH2 connect(int port) throws IOException {
    return new RawH2(port);
  }

  /** An HPACK header block of literal fields (never indexed, no Huffman): name, value, name, value, ... */
  public static byte[] block(String... nameValues) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int i = 0; i + 1 < nameValues.length; i += 2) {
      b.write(0x10); // literal header field never indexed, new name
      string(b, nameValues[i]);
      string(b, nameValues[i + 1]);
    }
    return b.toByteArray();
  }

  /** The pseudo-fields of a request followed by {@code fields}. */
  public static String[] request(String method, String path, String... fields) {
    String[] all = new String[8 + fields.length];
    all[0] = ":method";
    all[1] = method;
    all[2] = ":scheme";
    all[3] = "http";
    all[4] = ":authority";
    all[5] = "example.test";
    all[6] = ":path";
    all[7] = path;
    System.arraycopy(fields, 0, all, 8, fields.length);
    return all;
  }

  private static void string(ByteArrayOutputStream b, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1);
    integer(b, 7, 0, bytes.length);
    b.write(bytes, 0, bytes.length);
  }

  private static void integer(ByteArrayOutputStream b, int prefixBits, int flags, int value) {
    int max = (1 << prefixBits) - 1;
    if (value < max) {
      b.write(flags | value);
      return;
    }
    b.write(flags | max);
    value -= max;
    while (value >= 128) {
      b.write((value & 0x7F) | 0x80);
      value >>>= 7;
    }
    b.write(value);
  }

  /**
   * Writes one frame. Once the proxy has closed the connection (it refused what came before, and a
   * write meets a broken pipe or a reset), this and later writes are dropped: what the proxy answered
   * before closing is still read by {@link #await}, which is what the test checks.
   */
  public RawH2 frame(int type, int flags, int stream, byte[] payload) throws IOException {
    if (peerGone) {
      return this;
    }
    byte[] head = {
        (byte) (payload.length >>> 16), (byte) (payload.length >>> 8), (byte) payload.length,
        (byte) type, (byte) flags,
        (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8), (byte) stream};
    try {
      out.write(head);
      out.write(payload);
      out.flush();
    } catch (java.net.SocketException e) {
      peerGone = true;
    }
    return this;
  }

  /** A HEADERS frame carrying the whole block. */
  public RawH2 headers(int stream, boolean endStream, String... nameValues) throws IOException {
    return frame(HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), stream, block(nameValues));
  }

  public RawH2 data(int stream, boolean endStream, byte[] data) throws IOException {
    return frame(DATA, endStream ? END_STREAM : 0, stream, data);
  }

  public RawH2 data(int stream, boolean endStream, String data) throws IOException {
    return data(stream, endStream, data.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** What the proxy answered on one stream. */
  public static final class Result {
    /** The final status, or -1 when no response head came. */
    public int status = -1;
    public final Map<String, List<String>> headers = new LinkedHashMap<>();
    public final ByteArrayOutputStream body = new ByteArrayOutputStream();
    /** The RST_STREAM error code for this stream, or -1. */
    public int reset = -1;
    /** The GOAWAY error code, or -1. */
    public int goAway = -1;
    /** The stream ended with END_STREAM. */
    public boolean ended;
    /** The connection closed before the stream ended. */
    public boolean closed;

    /** Refused: a 4xx answer, a reset stream or a GOAWAY, and nothing that looks like success. */
    public boolean refused() {
      return (status >= 400 && status < 500) || (status == -1 && (reset >= 0 || goAway >= 0 || closed));
    }

    public String bodyText() {
      return body.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "Result(status=" + status + ", reset=" + reset + ", goAway=" + goAway + ", ended=" + ended
          + ", closed=" + closed + ", body=" + bodyText().trim() + ")";
    }
  }

  /**
   * Reads frames until {@code stream} ends, is reset, or the connection goes away; answers SETTINGS and
   * PING, and gives back flow-control credit for every DATA frame.
   */
  public Result await(int stream) throws IOException {
    Result r = new Result();
    ByteArrayOutputStream block = null;
    int blockStream = 0;
    boolean blockEnds = false;
    for (;;) {
      int length;
      int type;
      int flags;
      int id;
      byte[] payload;
      try {
        length = in.readUnsignedByte() << 16 | in.readUnsignedByte() << 8 | in.readUnsignedByte();
        type = in.readUnsignedByte();
        flags = in.readUnsignedByte();
        id = in.readInt() & 0x7FFFFFFF;
        payload = in.readNBytes(length);
        if (payload.length < length) {
          throw new EOFException();
        }
      } catch (EOFException | java.net.SocketException e) {
        r.closed = true;
        return r;
      } catch (SocketTimeoutException e) {
        throw new AssertionError("no answer on stream " + stream + " within 10 s: " + r, e);
      }
      switch (type) {
        case SETTINGS:
          if ((flags & 0x1) == 0) {
            frame(SETTINGS, 0x1, 0, new byte[0]);
          }
          break;
        case PING:
          if ((flags & 0x1) == 0) {
            frame(PING, 0x1, 0, payload);
          }
          break;
        case GOAWAY:
          r.goAway = ByteBuffer.wrap(payload, 4, 4).getInt();
          return r;
        case RST_STREAM:
          if (id == stream) {
            r.reset = ByteBuffer.wrap(payload).getInt();
            return r;
          }
          break;
        case HEADERS:
        case CONTINUATION:
          if (type == HEADERS) {
            block = new ByteArrayOutputStream();
            blockStream = id;
            blockEnds = (flags & END_STREAM) != 0;
            int offset = 0;
            int pad = 0;
            if ((flags & 0x8) != 0) {
              pad = payload[0] & 0xFF;
              offset = 1;
            }
            if ((flags & 0x20) != 0) {
              offset += 5;
            }
            block.write(payload, offset, payload.length - offset - pad);
          } else if (block != null) {
            block.write(payload, 0, payload.length);
          }
          if ((flags & END_HEADERS) != 0 && block != null) {
            Map<String, List<String>> fields = decode(block.toByteArray());
            block = null;
            if (blockStream == stream) {
              String status = fields.containsKey(":status") ? fields.get(":status").get(0) : null;
              if (status != null && r.status < 200) {
                r.status = Integer.parseInt(status);
                if (r.status >= 200) {
                  r.headers.putAll(fields);
                }
              }
              if (blockEnds) {
                r.ended = true;
                return r;
              }
            }
          }
          break;
        case DATA:
          if (length > 0) {
            byte[] credit = ByteBuffer.allocate(4).putInt(length).array();
            frame(WINDOW_UPDATE, 0, 0, credit);
            if ((flags & END_STREAM) == 0) {
              frame(WINDOW_UPDATE, 0, id, credit);
            }
          }
          if (id == stream) {
            int offset = 0;
            int pad = 0;
            if ((flags & 0x8) != 0) {
              pad = payload[0] & 0xFF;
              offset = 1;
            }
            r.body.write(payload, offset, payload.length - offset - pad);
            if ((flags & END_STREAM) != 0) {
              r.ended = true;
              return r;
            }
          }
          break;
        default:
          break;
      }
    }
  }

  private Map<String, List<String>> decode(byte[] block) throws IOException {
    Map<String, List<String>> fields = new LinkedHashMap<>();
    decoder.setHeaderEmitter((name, value, neverIndex) ->
        fields.computeIfAbsent(name.toString(), k -> new ArrayList<>()).add(value));
    try {
      decoder.decode(ByteBuffer.wrap(block), false);
    } catch (HpackException e) {
      throw new IOException("cannot decode the response's header block", e);
    }
    return fields;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
