package dev.gatehouse.proxy.internal.tls.handover;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads what a proxy needs from the first bytes a client sends into a tunnel: whether they are a TLS
 * ClientHello and, if so, the server name it asks for (SNI, RFC 6066) and the protocols it offers
 * (ALPN, RFC 7301). The bytes are only looked at, never consumed: the handshake proper sees them all.
 * The hello may span several TLS records and arrive in pieces; {@link #parse} says when more is needed.
 */
public final class ClientHello {
  /** Largest ClientHello accepted (post-quantum key shares make them a few KiB; 64 KiB is generous). */
  public static final int MAX_BYTES = 64 * 1024;

  private static final int RECORD_HANDSHAKE = 22;
  private static final int CLIENT_HELLO = 1;
  private static final int EXT_SERVER_NAME = 0;
  private static final int EXT_ALPN = 16;

  /** What the bytes are. */
  public enum Kind {
    /** A complete ClientHello: {@link #serverName()} and {@link #protocols()} are set. */
    TLS,
    /** Too few bytes to tell yet. */
    NEED_MORE,
    /** Not TLS: the first bytes are not a TLS handshake record. */
    NOT_TLS,
    /** TLS records, but no well-formed ClientHello (or one over {@link #MAX_BYTES}). */
    MALFORMED
  }

  private final Kind kind;
  private final String serverName;
  private final List<String> protocols;
  private final String problem;

  private ClientHello(Kind kind, String serverName, List<String> protocols, String problem) {
    this.kind = kind;
    this.serverName = serverName;
    this.protocols = protocols;
    this.problem = problem;
  }

  private static final ClientHello NEED_MORE = new ClientHello(Kind.NEED_MORE, null, List.of(), null);
  private static final ClientHello NOT_TLS = new ClientHello(Kind.NOT_TLS, null, List.of(), null);

  private static ClientHello malformed(String problem) {
    return new ClientHello(Kind.MALFORMED, null, List.of(), problem);
  }

  public Kind kind() {
    return kind;
  }

  /** The SNI host name as sent (ASCII), or null when the client sent none. */
  public String serverName() {
    return serverName;
  }

  /** The ALPN protocols offered, in the client's order; empty when none. */
  public List<String> protocols() {
    return protocols;
  }

  /** Why a {@link Kind#MALFORMED} hello was refused. */
  public String problem() {
    return problem;
  }

  /** Parses the bytes between {@code data}'s position and limit, leaving the buffer unchanged. */
  public static ClientHello parse(ByteBuffer data) {
    ByteBuffer in = data.duplicate();
    if (!in.hasRemaining()) {
      return NEED_MORE;
    }
    if ((in.get(in.position()) & 0xFF) != RECORD_HANDSHAKE) {
      return NOT_TLS;
    }
    if (in.remaining() >= 2 && (in.get(in.position() + 1) & 0xFF) != 3) {
      return NOT_TLS; // TLS record versions are 3.x
    }
    // Reassemble the handshake message from as many records as it takes.
    ByteBuffer message = ByteBuffer.allocate(Math.min(MAX_BYTES, Math.max(in.remaining(), 64)));
    int needed = -1;
    while (true) {
      if (in.remaining() < 5) {
        return NEED_MORE;
      }
      int type = in.get() & 0xFF;
      int major = in.get() & 0xFF;
      in.get();
      int length = in.getShort() & 0xFFFF;
      if (type != RECORD_HANDSHAKE || major != 3) {
        return malformed("a TLS record of type " + type + " before the ClientHello was complete");
      }
      if (length == 0 || length > 16384 + 2048) {
        return malformed("a TLS record of " + length + " bytes");
      }
      if (in.remaining() < length) {
        return NEED_MORE;
      }
      if (message.remaining() < length) {
        return malformed("a ClientHello over " + MAX_BYTES + " bytes");
      }
      ByteBuffer fragment = in.slice();
      fragment.limit(length);
      message.put(fragment);
      in.position(in.position() + length);
      if (needed < 0 && message.position() >= 4) {
        if ((message.get(0) & 0xFF) != CLIENT_HELLO) {
          return malformed("a handshake message of type " + (message.get(0) & 0xFF) + " instead of a ClientHello");
        }
        needed = 4 + (((message.get(1) & 0xFF) << 16) | ((message.get(2) & 0xFF) << 8) | (message.get(3) & 0xFF));
        if (needed > MAX_BYTES) {
          return malformed("a ClientHello of " + needed + " bytes (expected: at most " + MAX_BYTES + ")");
        }
      }
      if (needed >= 0 && message.position() >= needed) {
        message.flip();
        message.limit(needed);
        message.position(4);
        try {
          return body(message);
        } catch (RuntimeException e) {
          return malformed("a truncated ClientHello");
        }
      }
    }
  }

  private static ClientHello body(ByteBuffer m) {
    m.getShort(); // legacy_version
    skip(m, 32); // random
    skip(m, m.get() & 0xFF); // legacy_session_id
    skip(m, m.getShort() & 0xFFFF); // cipher_suites
    skip(m, m.get() & 0xFF); // legacy_compression_methods
    String sni = null;
    List<String> alpn = List.of();
    if (!m.hasRemaining()) {
      return new ClientHello(Kind.TLS, null, alpn, null);
    }
    int end = (m.getShort() & 0xFFFF) + m.position();
    if (end > m.limit()) {
      return malformed("ClientHello extensions longer than the message");
    }
    while (m.position() + 4 <= end) {
      int type = m.getShort() & 0xFFFF;
      int length = m.getShort() & 0xFFFF;
      if (m.position() + length > end) {
        return malformed("a ClientHello extension longer than the message");
      }
      ByteBuffer ext = m.slice();
      ext.limit(length);
      m.position(m.position() + length);
      if (type == EXT_SERVER_NAME && length > 0) {
        int listEnd = (ext.getShort() & 0xFFFF) + ext.position();
        while (ext.position() + 3 <= listEnd) {
          int nameType = ext.get() & 0xFF;
          int nameLength = ext.getShort() & 0xFFFF;
          byte[] name = new byte[nameLength];
          ext.get(name);
          if (nameType == 0 && sni == null) {
            for (byte b : name) {
              if (b <= 0x20 || b >= 0x7F) {
                return malformed("a server name with a byte 0x" + Integer.toHexString(b & 0xFF));
              }
            }
            sni = new String(name, StandardCharsets.US_ASCII);
          }
        }
      } else if (type == EXT_ALPN && length > 0) {
        int listEnd = (ext.getShort() & 0xFFFF) + ext.position();
        List<String> protocols = new ArrayList<>();
        while (ext.position() < listEnd) {
          byte[] p = new byte[ext.get() & 0xFF];
          ext.get(p);
          protocols.add(new String(p, StandardCharsets.ISO_8859_1));
        }
        alpn = List.copyOf(protocols);
      }
    }
    return new ClientHello(Kind.TLS, sni, alpn, null);
  }

  private static void skip(ByteBuffer b, int n) {
    b.position(b.position() + n);
  }

  @Override
  public String toString() {
    switch (kind) {
      case TLS:
        return "ClientHello(sni " + serverName + ", alpn " + protocols + ")";
      case MALFORMED:
        return "ClientHello(malformed: " + problem + ")";
      default:
        return "ClientHello(" + kind + ")";
    }
  }
}
