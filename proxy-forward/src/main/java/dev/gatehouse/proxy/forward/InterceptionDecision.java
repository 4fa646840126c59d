package dev.gatehouse.proxy.forward;

import java.util.Objects;

/**
 * What an {@link InterceptionPolicy} decided for one tunnel.
 *
 * @param intercept whether the proxy decrypts the tunnel
 * @param rule the rule that decided, e.g. {@code intercept all}, {@code bypass *.bank.example}, {@code
 *     not on the intercept list}
 */
public record InterceptionDecision(boolean intercept, String rule) {
  /** @throws NullPointerException if {@code rule} is null */
  public InterceptionDecision {
    Objects.requireNonNull(rule, "rule");
  }
}
