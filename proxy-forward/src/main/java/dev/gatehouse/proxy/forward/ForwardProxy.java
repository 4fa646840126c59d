package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.AttributeKey;

/**
 * Entry point of the forward proxy: a proxy that clients are pointed at ({@code curl -x}, {@code
 * http_proxy}, the JDK's {@code ProxySelector}) to reach any destination its {@link EgressPolicy}
 * allows.
 *
 * <pre>{@code
 * try (ProxyServer proxy = ForwardProxy.builder()
 *     .port(3128)
 *     .egress(EgressPolicy.denyAll().allowHosts("*.example.com", "api.github.com"))
 *     .build()
 *     .start()) {
 *   ...
 * }
 * }</pre>
 *
 * <p>What it does with each request, before the builder's filters run:
 *
 * <ol>
 *   <li>reads the destination from the request target: absolute-form {@code GET http://host:port/path}
 *       or {@code CONNECT host:port} (and, in transparent mode, origin-form with {@code Host});
 *       anything else is answered 400;
 *   <li>checks {@code Proxy-Authorization} if authentication is configured (407 otherwise), and puts
 *       the user name under {@link dev.gatehouse.proxy.AccessLog#USER};
 *   <li>resolves the destination once, off the I/O thread, and decides it with the egress policy; the
 *       decision is under {@link #EGRESS_DECISION} for the filters, and the access log shows its rule.
 * </ol>
 *
 * Then the filters run, and the last step carries out the decision: a denied request is answered
 * 403 naming the rule (a filter may answer earlier, but can never reach a denied destination); an
 * allowed one is forwarded over a pooled keep-alive connection to exactly the address checked, or a
 * {@code CONNECT} tunnel is opened to it.
 */
public final class ForwardProxy {

  /** The egress decision for the exchange, set before the filters run. */
  public static final AttributeKey<EgressDecision> EGRESS_DECISION = AttributeKey.of("egressDecision");

  /**
   * The authenticated user's rules, set before the filters run when the proxy has {@link
   * ForwardProxyBuilder#userPolicies} (a filter can apply its own per-group rules, e.g. to paths).
   */
  public static final AttributeKey<UserPolicy> USER_POLICY = AttributeKey.of("userPolicy");

  private ForwardProxy() {}

  /** A new builder with the defaults described on {@link ForwardProxyBuilder}. */
  public static ForwardProxyBuilder builder() {
    return new ForwardProxyBuilder();
  }
}
