/**
 * An in-memory test kit for filters: {@link dev.gatehouse.proxy.testing.FilterHarness} runs one filter
 * or a chain against a scripted upstream, without sockets and without threads of its own, and tells
 * what the upstream received and what the client would get.
 *
 * <pre>{@code
 * FilterHarness.Result r = FilterHarness.of(new RequestIdFilter())
 *     .request(TestRequest.GET("/orders").header("X-Request-Id", "abc"))
 *     .upstreamReplies(200, "[]")
 *     .run();
 * assertEquals("abc", r.upstreamRequest().orElseThrow().header("X-Request-Id").orElseThrow());
 * assertEquals("abc", r.response().header("X-Request-Id").orElseThrow());
 * }</pre>
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.testing;

import org.jspecify.annotations.NullMarked;
