/**
 * TLS hand-over for interception: reading a client's ClientHello from a tunnel and handing the
 * connection to a TLS engine the forward module chose.
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.tls.handover;
