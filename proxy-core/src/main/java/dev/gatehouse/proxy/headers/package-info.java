/**
 * Gateway filters that change header fields: {@link dev.gatehouse.proxy.headers.HeaderRules} (set, add,
 * remove, rename on the request and the response) and {@link dev.gatehouse.proxy.headers.RequestId}
 * (a request id, kept from the client when it is well-formed, sent upstream and back).
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.headers;

import org.jspecify.annotations.NullMarked;
