/**
 * TLS contexts: the server side (certificates per host name, the SNI key manager, reloads), the
 * client side to upstreams, PEM reading and a delegating SSL context.
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.tls;
