/**
 * The forward proxy: {@link dev.gatehouse.proxy.forward.ForwardProxy#builder()} for absolute-form
 * requests and {@code CONNECT} tunnels, with an {@link dev.gatehouse.proxy.forward.EgressPolicy}
 * (allowed hosts, ports and addresses; reserved addresses refused by default), proxy authentication,
 * per-user policies, anonymising, a parent proxy, and TLS interception ({@link
 * dev.gatehouse.proxy.forward.TlsInterception}).
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.forward;

import org.jspecify.annotations.NullMarked;
