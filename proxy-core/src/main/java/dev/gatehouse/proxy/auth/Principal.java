package dev.gatehouse.proxy.auth;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.ProxyExchange;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Who made a request, as an authentication filter established it: a name (the JWT's {@code sub}, the
 * API consumer, the Basic user, ...), the scheme that proved it, and the verified claims. Every
 * authentication filter in this package stores it under {@link #ATTRIBUTE}, where later filters (rate
 * limits per consumer, header rules, your own) read it:
 *
 * <pre>{@code
 * Optional<Principal> who = Principal.of(exchange);
 * String plan = who.flatMap(p -> p.claim("plan")).map(Object::toString).orElse("free");
 * }</pre>
 *
 * <p>Immutable. Claim values are what JSON gives: {@code String}, {@code Long} or {@code Double},
 * {@code Boolean}, {@code List} and {@code Map} (times such as {@code exp} as seconds since the epoch).
 */
public final class Principal {

  /** Where authentication filters put the principal. */
  public static final AttributeKey<Principal> ATTRIBUTE = AttributeKey.of("principal");

  private final String name;
  private final String scheme;
  private final Map<String, Object> claims;

  private Principal(String name, String scheme, Map<String, Object> claims) {
    this.name = name;
    this.scheme = scheme;
    this.claims = claims;
  }

  /**
   * A principal.
   *
   * @param name who it is, e.g. {@code alice}
   * @param scheme how it was proved, e.g. {@code jwt}, {@code api-key}, {@code basic}
   * @param claims what else is known (copied)
   */
  public static Principal of(String name, String scheme, Map<String, ?> claims) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(scheme, "scheme");
    Objects.requireNonNull(claims, "claims");
    return new Principal(name, scheme, Collections.unmodifiableMap(new LinkedHashMap<>(claims)));
  }

  /** A principal with no claims. */
  public static Principal of(String name, String scheme) {
    return of(name, scheme, Map.of());
  }

  /** The principal an authentication filter stored on {@code exchange}, if any. */
  public static Optional<Principal> of(ProxyExchange exchange) {
    return Objects.requireNonNull(exchange, "exchange").attribute(ATTRIBUTE);
  }

  /** Who it is. */
  public String name() {
    return name;
  }

  /** How it was proved: {@code jwt}, {@code api-key}, {@code basic}, or what a custom filter says. */
  public String scheme() {
    return scheme;
  }

  /** Every claim, unmodifiable. */
  public Map<String, Object> claims() {
    return claims;
  }

  /** One claim, if present. */
  public Optional<Object> claim(String name) {
    return Optional.ofNullable(claims.get(Objects.requireNonNull(name, "name")));
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Principal)) {
      return false;
    }
    Principal p = (Principal) o;
    return name.equals(p.name) && scheme.equals(p.scheme) && claims.equals(p.claims);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, scheme, claims);
  }

  @Override
  public String toString() {
    return "Principal(" + scheme + " " + name + ")";
  }
}
