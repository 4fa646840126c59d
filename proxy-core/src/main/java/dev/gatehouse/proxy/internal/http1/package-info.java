/**
 * HTTP/1.1 on the wire: the upstream codec ({@link
 * dev.gatehouse.proxy.internal.http1.Http1ExchangeCodec}) with its request head encoding and
 * response head parser, body decoders (chunked, length, close-delimited), chunked encoding,
 * response framing rules, hop-by-hop duties and the syntax rules of RFC 9110/9112 ({@link
 * dev.gatehouse.proxy.internal.http1.Http}: tokens, field values, Content-Length).
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.http1;
