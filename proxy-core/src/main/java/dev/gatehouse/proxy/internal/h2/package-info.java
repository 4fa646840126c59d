/**
 * HTTP/2 to upstreams: sessions per host ({@link dev.gatehouse.proxy.internal.h2.H2Sessions}), the
 * stream codec ({@link dev.gatehouse.proxy.internal.h2.Http2ExchangeCodec}), the mapping of request
 * and response heads, and the conduit that turns an upstream's GOAWAY into a promise about its
 * streams (RFC 9113 §6.8) rather than the end of all of them; {@link
 * dev.gatehouse.proxy.internal.h2.HeaderBlocks} says whether a stream's header block is complete (Undertow
 * hands a stream on before CONTINUATION frames of a later read), for responses here and requests in the
 * server.
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.h2;
