/**
 * Upstream connections: per-host pools ({@link dev.gatehouse.proxy.internal.pool.HostPool}), the
 * pooled connection, the connector (TCP, TLS, ALPN), health probes and the registry of pools the
 * proxy holds ({@link dev.gatehouse.proxy.internal.pool.PoolRegistry}).
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.pool;
