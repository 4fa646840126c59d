/**
 * The forward proxy's machinery: the steps every request takes ({@link
 * dev.gatehouse.proxy.forward.internal.ForwardSteps}: authentication, egress policy, target
 * parsing, special addresses), host patterns, NO_PROXY, the parent proxy and intercepted tunnels.
 *
 * <p><b>Internal.</b> Not exported by proxy-forward's module descriptor; on the class path it is
 * visible, but it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.forward.internal;
