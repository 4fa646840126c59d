/**
 * Observability behind {@code dev.gatehouse.proxy.events} and {@code dev.gatehouse.proxy.metrics}:
 * event dispatch to listeners, Micrometer and OpenTelemetry bindings, the admin listener, status
 * JSON and the access log listener.
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.observe;
