package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.CheckReturnValue;
import java.util.Objects;
import java.util.Optional;

/**
 * The rules for one authenticated user or group: where they may go ({@link EgressPolicy}) and, with
 * TLS interception, which of their tunnels are decrypted ({@link InterceptionPolicy}). Named, so that
 * the access log and the {@code 403} say which rules refused a request: {@code contractors: default deny
 * (no allow rule matches example.org:443)}. Immutable. See {@link UserPolicies}.
 *
 * <pre>{@code
 * UserPolicy contractors = UserPolicy.of("contractors",
 *     EgressPolicy.denyAll().allowHosts("*.partner.example", "api.github.com"));
 * UserPolicy engineers = UserPolicy.of("engineers", EgressPolicy.allowPublic())
 *     .interception(InterceptionPolicy.interceptNone());   // engineers' tunnels are not decrypted
 * }</pre>
 */
@CheckReturnValue
public final class UserPolicy {
  private final String name;
  private final EgressPolicy egress;
  private final InterceptionPolicy interception;

  private UserPolicy(String name, EgressPolicy egress, InterceptionPolicy interception) {
    this.name = name;
    this.egress = egress;
    this.interception = interception;
  }

  /**
   * Rules called {@code name} (a group such as {@code contractors}, or a user) that allow what {@code
   * egress} allows; tunnels are intercepted as {@link TlsInterception#policy()} says.
   *
   * @throws IllegalArgumentException if {@code name} is blank or has control characters
   */
  public static UserPolicy of(String name, EgressPolicy egress) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(egress, "egress");
    if (name.isBlank() || name.chars().anyMatch(c -> c < 0x20 || c == 0x7F)) {
      throw new IllegalArgumentException("name: \"" + name + "\" (expected: a name without control characters)");
    }
    return new UserPolicy(name, egress, null);
  }

  /** The same rules, with their own choice of which tunnels {@linkplain TlsInterception TLS interception} decrypts. */
  public UserPolicy interception(InterceptionPolicy policy) {
    return new UserPolicy(name, egress, Objects.requireNonNull(policy, "interception"));
  }

  /** The name shown with every decision these rules make. */
  public String name() {
    return name;
  }

  /** Where requests may go. */
  public EgressPolicy egress() {
    return egress;
  }

  /** Which tunnels are intercepted, when these rules say; empty for the proxy's {@link TlsInterception#policy()}. */
  public Optional<InterceptionPolicy> interception() {
    return Optional.ofNullable(interception);
  }

  @Override
  public String toString() {
    return "UserPolicy(" + name + ", " + egress + (interception == null ? "" : ", " + interception) + ")";
  }
}
