package dev.gatehouse.proxy.access;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.spi.CidrSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Allows or denies requests by the client's address, as nginx's {@code allow} / {@code deny}: rules
 * are checked in order and the first whose CIDR block contains the address decides; an address no rule
 * matches gets the default ({@link Builder#otherwiseAllow()} / {@link Builder#otherwiseDeny()}).
 *
 * <pre>{@code
 * IpAccess.builder().deny("10.1.2.3").allow("10.0.0.0/8", "192.168.0.0/16").otherwiseDeny().build();
 * IpAccess.allowOnly("203.0.113.0/24", "2001:db8::/32");
 * }</pre>
 *
 * <p>The address is {@link ProxyExchange#realClientIp()}: the peer, or the client named by {@code
 * X-Forwarded-For} / {@code Forwarded} when the peer is one of the proxy's {@code trustedProxies} (so a
 * client cannot pick its own address). IPv4-mapped IPv6 addresses match IPv4 blocks. A denied request
 * gets 403 and never reaches the upstream; the access log shows {@code deny} and the rule.
 */
public final class IpAccess implements Filter {
  private final List<Rule> rules;
  private final boolean otherwiseAllow;

  private static final class Rule {
    final boolean allow;
    final CidrSet.Block block;

    Rule(boolean allow, CidrSet.Block block) {
      this.allow = allow;
      this.block = block;
    }

    String text() {
      return (allow ? "allow " : "deny ") + block.text();
    }
  }

  private IpAccess(List<Rule> rules, boolean otherwiseAllow) {
    this.rules = List.copyOf(rules);
    this.otherwiseAllow = otherwiseAllow;
  }

  /** Allows only addresses in {@code cidrs}; denies every other. */
  public static IpAccess allowOnly(String... cidrs) {
    return builder().allow(cidrs).otherwiseDeny().build();
  }

  /** Denies addresses in {@code cidrs}; allows every other. */
  public static IpAccess denyOnly(String... cidrs) {
    return builder().deny(cidrs).otherwiseAllow().build();
  }

  /** A builder with no rules, denying by default. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    byte[] address = CidrSet.parseLiteral(exchange.realClientIp());
    boolean allow = otherwiseAllow;
    String rule = otherwiseAllow ? "allow all" : "deny all";
    if (address == null) {
      allow = false;
      rule = "deny unknown address";
    } else {
      for (Rule r : rules) {
        if (r.block.contains(address)) {
          allow = r.allow;
          rule = r.text();
          break;
        }
      }
    }
    if (allow) {
      return chain.proceed();
    }
    exchange.attribute(AccessLog.POLICY_DECISION, "deny");
    exchange.attribute(AccessLog.POLICY_RULE, rule);
    return CompletableFuture.completedFuture(ProxyResponse.of(403, "Forbidden\n"));
  }

  @Override
  public String toString() {
    List<String> r = new ArrayList<>();
    for (Rule rule : rules) {
      r.add(rule.text());
    }
    r.add(otherwiseAllow ? "allow all" : "deny all");
    return "IpAccess" + r;
  }

  /** Ordered allow/deny rules. */
  public static final class Builder {
    private final List<Rule> rules = new ArrayList<>();
    private boolean otherwiseAllow;

    private Builder() {}

    /** Adds rules allowing addresses in {@code cidrs} (e.g. {@code 10.0.0.0/8}, {@code ::1}). */
    public Builder allow(String... cidrs) {
      return add(true, "allow", cidrs);
    }

    /** Adds rules denying addresses in {@code cidrs}. */
    public Builder deny(String... cidrs) {
      return add(false, "deny", cidrs);
    }

    private Builder add(boolean allow, String setting, String... cidrs) {
      Objects.requireNonNull(cidrs, setting);
      for (String c : cidrs) {
        rules.add(new Rule(allow, CidrSet.parse(Objects.requireNonNull(c, setting), setting)));
      }
      return this;
    }

    /** Allows addresses no rule matches. */
    public Builder otherwiseAllow() {
      this.otherwiseAllow = true;
      return this;
    }

    /**
     * Denies addresses no rule matches.
     *
     * @implSpec The default.
     */
    public Builder otherwiseDeny() {
      this.otherwiseAllow = false;
      return this;
    }

    /** Builds the filter. */
    public IpAccess build() {
      return new IpAccess(rules, otherwiseAllow);
    }
  }
}
