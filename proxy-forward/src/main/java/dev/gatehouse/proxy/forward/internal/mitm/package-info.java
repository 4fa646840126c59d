/**
 * TLS interception: the CA keys, leaf certificates minted and cached per host, upstream trust and
 * the optional Bouncy Castle dependency.
 *
 * <p><b>Internal.</b> Not exported by proxy-forward's module descriptor; on the class path it is
 * visible, but it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.forward.internal.mitm;
