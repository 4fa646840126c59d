/**
 * The access log writer: formats and writes one line per exchange off the I/O threads.
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.log;
