/**
 * One request to an upstream, whatever the protocol: {@link
 * dev.gatehouse.proxy.internal.upstream.UpstreamCall} keeps the exchange's state and its endings
 * and drives an {@link dev.gatehouse.proxy.internal.upstream.ExchangeCodec} (the seam behind which
 * HTTP/1.1 and HTTP/2 sit); around it the request body pump, the response read-ahead and client
 * writer, timeouts, {@code Expect: 100-continue}, the upgrade hand-off, the buffer budget, the
 * gathering write and the streaming of cache-provided bodies.
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.upstream;
