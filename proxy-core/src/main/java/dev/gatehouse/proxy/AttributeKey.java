package dev.gatehouse.proxy;

import java.util.Objects;

/**
 * A typed key for data a filter attaches to a {@link ProxyExchange}. Keys compare by identity: create
 * each once, as a constant.
 *
 * <pre>{@code
 * static final AttributeKey<String> USER = AttributeKey.of("user");
 * ...
 * exchange.attribute(USER, "alice");
 * String user = exchange.attribute(USER).orElse("anonymous");
 * }</pre>
 *
 * @param <T> the type of the value
 */
public final class AttributeKey<T> {
  private final String name;

  private AttributeKey(String name) {
    this.name = name;
  }

  /** Creates a new key; {@code name} is only used in {@code toString()}. */
  public static <T> AttributeKey<T> of(String name) {
    return new AttributeKey<>(Objects.requireNonNull(name, "name"));
  }

  /** The name given at creation. */
  public String name() {
    return name;
  }

  @Override
  public String toString() {
    return "AttributeKey(" + name + ")";
  }
}
