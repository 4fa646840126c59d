package dev.gatehouse.proxy.events;

import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.observe.DecisionSink;
import dev.gatehouse.proxy.internal.observe.ObservedExchange;
import dev.gatehouse.proxy.internal.observe.Telemetry;
import java.util.Objects;

/**
 * The kinds of {@link ProxyListener#decision} the proxy reports, and the way a filter reports its own
 * (a cache, a rate limiter or an authenticator written as a filter):
 *
 * <pre>{@code
 * Decisions.report(exchange, Decisions.RATE_LIMIT, "limited", "client " + exchange.realClientIp());
 * }</pre>
 *
 * The metrics binder counts each kind under its own name ({@code gatehouse.cache.requests}, {@code
 * gatehouse.ratelimit.decisions}, {@code gatehouse.auth.decisions}, {@code gatehouse.egress.decisions},
 * {@code gatehouse.upstream.rejections}) and other kinds under {@code gatehouse.filter.decisions}, with
 * the outcome as a tag. Kinds and outcomes are therefore short constant tokens, never request data.
 */
public final class Decisions {
  /** Forward proxy egress policy: outcome {@code allow} or {@code deny}; detail: the rule. */
  public static final String EGRESS = "egress";
  /** An HTTP cache: outcome such as {@code hit}, {@code miss}, {@code stale}, {@code bypass}. */
  public static final String CACHE = "cache";
  /** A rate limiter: outcome such as {@code allowed} or {@code limited}. */
  public static final String RATE_LIMIT = "rate-limit";
  /** Authentication: outcome such as {@code allowed}, {@code denied} or {@code missing}. */
  public static final String AUTH = "auth";
  /**
   * No upstream server could take the request (reverse proxy): outcome {@code circuit-open} (every
   * available server at its concurrency limit) or {@code no-server} (none healthy); detail: the group.
   */
  public static final String UPSTREAM = "upstream";

  private Decisions() {}

  /**
   * Reports a decision about {@code exchange} to the proxy's listeners (a no-op for an exchange the
   * proxy did not create, and when no listener is registered).
   *
   * @param kind a token such as {@link #CACHE}: lower-case letters, digits, {@code -}, {@code _} and
   *     {@code .}, at most 32 characters
   * @param outcome a token of the same form, e.g. {@code hit}
   * @param detail free text for humans, e.g. the rule that decided; may be empty
   * @throws IllegalArgumentException if {@code kind} or {@code outcome} is not such a token
   */
  public static void report(ProxyExchange exchange, String kind, String outcome, String detail) {
    Objects.requireNonNull(exchange, "exchange");
    checkToken("kind", kind);
    checkToken("outcome", outcome);
    Objects.requireNonNull(detail, "detail");
    if (exchange instanceof ExchangeImpl) {
      Telemetry.decision((ExchangeImpl) exchange, kind, outcome, detail);
    } else if (exchange instanceof ObservedExchange) {
      Telemetry.decision(((ObservedExchange) exchange).exchange(), kind, outcome, detail);
    } else if (exchange instanceof DecisionSink) {
      ((DecisionSink) exchange).decision(kind, outcome, detail);
    }
  }

  private static void checkToken(String name, String value) {
    Objects.requireNonNull(value, name);
    boolean ok = !value.isEmpty() && value.length() <= 32;
    for (int i = 0; ok && i < value.length(); i++) {
      char c = value.charAt(i);
      ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    }
    if (!ok) {
      throw new IllegalArgumentException(name + ": \"" + value
          + "\" (expected: 1-32 lower-case letters, digits, '-', '_' or '.')");
    }
  }
}
