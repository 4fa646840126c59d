/**
 * CONNECT tunnels: plain byte relays ({@link dev.gatehouse.proxy.internal.tunnel.ConnectTunnels}),
 * CONNECT through a parent proxy, and the I/O side of intercepted tunnels ({@link
 * dev.gatehouse.proxy.internal.tunnel.Interceptor}); the forward module drives them through {@code
 * spi.Tunnels}.
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.tunnel;
