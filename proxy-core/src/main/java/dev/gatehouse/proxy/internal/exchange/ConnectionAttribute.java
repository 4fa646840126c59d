package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.AttributeKey;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import java.util.Optional;

/**
 * A value a client connection carries for every request on it (the intercepted tunnel a decrypted
 * connection came through), put on each of its exchanges as it arrives: Undertow's HTTP/2 streams do
 * not share a connection object that could hold it. Read through {@link ExchangeImpl#connectionAttribute}.
 *
 * @param key the attribute's key
 * @param value its value
 */
public record ConnectionAttribute(AttributeKey<?> key, Object value) {
  private static final AttachmentKey<ConnectionAttribute> ATTACHMENT = AttachmentKey.create(ConnectionAttribute.class);

  /** Puts this attribute on {@code exchange}, a request of the connection that carries it. */
  public void tag(HttpServerExchange exchange) {
    exchange.putAttachment(ATTACHMENT, this);
  }

  /** The value of {@code key} on {@code exchange}'s connection, if it carries one. */
  @SuppressWarnings("unchecked")
  static <T> Optional<T> get(HttpServerExchange exchange, AttributeKey<T> key) {
    ConnectionAttribute a = exchange.getAttachment(ATTACHMENT);
    return a != null && a.key == key ? Optional.of((T) a.value) : Optional.empty();
  }
}
