package dev.gatehouse.proxy.spi;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the first bytes a client sent into an intercepted tunnel say: {@link Tunnels#intercept}.
 *
 * @param kind what they are
 * @param serverName the TLS server name (SNI) as sent, or null when there is none
 * @param problem why a malformed hello is malformed, or null
 */
public record ClientHelloInfo(Kind kind, @Nullable String serverName, @Nullable String problem) {

  /** What the first bytes are. */
  public enum Kind {
    /** A TLS ClientHello. */
    TLS,
    /** Bytes of another protocol. */
    NOT_TLS,
    /** A TLS record that is not a valid ClientHello. */
    MALFORMED,
    /** Nothing within the {@code requestHeaderTimeout} (a protocol where the server speaks first?). */
    SILENT
  }

  /** The hello; {@code kind} is required. */
  public ClientHelloInfo {
    Objects.requireNonNull(kind, "kind");
  }
}
