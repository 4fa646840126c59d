/**
 * The engine's server side: {@link dev.gatehouse.proxy.internal.server.Engine} (listeners, start,
 * graceful close, certificate reload, lifecycle hooks) and {@link
 * dev.gatehouse.proxy.internal.server.EngineRuntime} (the SPI view given to the direction modules);
 * {@link dev.gatehouse.proxy.internal.server.Intake} takes each request in (validation by {@link
 * dev.gatehouse.proxy.internal.server.RequestValidator}, the strict chunked and declared-length
 * body conduits, Max-Forwards and TRACE, the filter chain and the terminal); {@link
 * dev.gatehouse.proxy.internal.server.ResponseCommit} writes the response head; interim responses,
 * the default error handler and the engine's settings ({@link
 * dev.gatehouse.proxy.internal.server.CoreConfig}) live here too.
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.server;
