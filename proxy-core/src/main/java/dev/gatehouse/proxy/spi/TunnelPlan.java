package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.AttributeKey;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;

/** What an intercepted tunnel does with the client's first bytes: {@link TunnelInterception#onFirstBytes}. */
public final class TunnelPlan {

  /** The three plans. */
  public enum Kind {
    /** The proxy answers the client's TLS itself and serves the decrypted requests. */
    SERVE,
    /** The bytes go, unread, to a destination, as an opaque tunnel's would. */
    PASS_THROUGH,
    /** The tunnel is closed. */
    CLOSE
  }

  private final Kind kind;
  private final @Nullable CompletionStage<SSLContext> context;
  private final @Nullable AttributeKey<?> attributeKey;
  private final @Nullable Object attribute;
  private final @Nullable Consumer<SSLException> handshakeFailed;
  private final @Nullable InetSocketAddress destination;

  private TunnelPlan(Kind kind, @Nullable CompletionStage<SSLContext> context, @Nullable AttributeKey<?> attributeKey,
      @Nullable Object attribute, @Nullable Consumer<SSLException> handshakeFailed,
      @Nullable InetSocketAddress destination) {
    this.kind = kind;
    this.context = context;
    this.attributeKey = attributeKey;
    this.attribute = attribute;
    this.handshakeFailed = handshakeFailed;
    this.destination = destination;
  }

  /**
   * Serves the client's TLS with {@code context} (once it completes; a failed stage closes the tunnel)
   * and the decrypted connection like the listener's own: HTTP/1.1, or HTTP/2 when the client chooses
   * it by ALPN. Every request on it carries {@code value} as its {@linkplain Exchange#connectionAttribute
   * connection attribute} {@code key}; {@code handshakeFailed} hears why a handshake failed.
   */
  public static <T> TunnelPlan serve(CompletionStage<SSLContext> context, AttributeKey<T> key, T value,
      Consumer<SSLException> handshakeFailed) {
    return new TunnelPlan(Kind.SERVE, Objects.requireNonNull(context, "context"), Objects.requireNonNull(key, "key"),
        Objects.requireNonNull(value, "value"), Objects.requireNonNull(handshakeFailed, "handshakeFailed"), null);
  }

  /** Connects to {@code destination} and pipes bytes both ways, starting with what the client sent. */
  public static TunnelPlan passThrough(InetSocketAddress destination) {
    return new TunnelPlan(Kind.PASS_THROUGH, null, null, null, null,
        Objects.requireNonNull(destination, "destination"));
  }

  /** Closes the tunnel. */
  public static TunnelPlan close() {
    return new TunnelPlan(Kind.CLOSE, null, null, null, null, null);
  }

  /** Which plan. */
  public Kind kind() {
    return kind;
  }

  /** {@link Kind#SERVE}: the TLS context presented to the client. */
  public @Nullable CompletionStage<SSLContext> context() {
    return context;
  }

  /** {@link Kind#SERVE}: the key of the connection attribute. */
  public @Nullable AttributeKey<?> attributeKey() {
    return attributeKey;
  }

  /** {@link Kind#SERVE}: the value of the connection attribute. */
  public @Nullable Object attribute() {
    return attribute;
  }

  /** {@link Kind#SERVE}: told why a client's handshake failed. */
  public @Nullable Consumer<SSLException> handshakeFailed() {
    return handshakeFailed;
  }

  /** {@link Kind#PASS_THROUGH}: where the bytes go. */
  public @Nullable InetSocketAddress destination() {
    return destination;
  }
}
