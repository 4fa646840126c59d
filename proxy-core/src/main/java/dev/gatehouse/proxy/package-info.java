/**
 * Gatehouse's API: build a proxy ({@link dev.gatehouse.proxy.ProxyBuilder}, made concrete by {@code
 * ReverseProxy.builder()} and {@code ForwardProxy.builder()}), run it ({@link
 * dev.gatehouse.proxy.ProxyServer}), and change what passes through it with {@link
 * dev.gatehouse.proxy.Filter}s that see each {@link dev.gatehouse.proxy.ProxyExchange}: its {@link
 * dev.gatehouse.proxy.ProxyRequest}, the {@link dev.gatehouse.proxy.ProxyResponse} on the way back,
 * typed attributes, streaming {@link dev.gatehouse.proxy.BodyTransformer}s. Failures are {@link
 * dev.gatehouse.proxy.ProxyException}s, answered by the {@link dev.gatehouse.proxy.ErrorHandler}.
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy;

import org.jspecify.annotations.NullMarked;
