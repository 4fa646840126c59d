/**
 * One exchange as the filters and terminals see it: {@link
 * dev.gatehouse.proxy.internal.exchange.ExchangeImpl} (request and response state, endings,
 * attributes), the request and response views, the header adapter, the filter chain, response
 * transformers, the replay buffer for retried request bodies, connection attributes and detached
 * (proxy-made) exchanges.
 *
 * <p><b>Internal.</b> Not exported by the module descriptor; on the class path it is visible, but
 * it is not API: users must not depend on it, and it may change in any release.
 */
package dev.gatehouse.proxy.internal.exchange;
