package dev.gatehouse.proxy.spi;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Per-call settings that override the builder-wide ones (a route's own timeouts, a group's pool limits
 * and TLS). A null or zero field means "the builder's value" as documented per component.
 *
 * @param connectTimeout time to connect (or to get a pooled connection), null for the builder's
 * @param readTimeout longest wait for the next upstream byte, null for the builder's, zero for none
 * @param writeTimeout longest wait for the upstream to accept request bytes, null for the read timeout
 * @param tryTimeout time from the start of this call to the response head, null or zero for none
 * @param deadlineNanos {@link System#nanoTime()} by which the whole response must have been read, 0 for none
 * @param pool the pool limits and TLS, null for the builder's
 * @param listener told about the outcome, or null
 * @param upgrade whether a client's {@code Upgrade} request (WebSocket, ...) is passed on; on {@code 101}
 *     the client and upstream connections are then joined by a tunnel
 */
public record CallOptions(@Nullable Duration connectTimeout, @Nullable Duration readTimeout,
    @Nullable Duration writeTimeout, @Nullable Duration tryTimeout, long deadlineNanos, @Nullable PoolSettings pool,
    @Nullable CallListener listener, boolean upgrade) {

  /** No overrides. */
  public static final CallOptions DEFAULTS = new CallOptions(null, null, null, null, 0, null, null, false);

  /** The same options with {@code listener} and {@code deadlineNanos}. */
  public CallOptions with(@Nullable CallListener listener, long deadlineNanos) {
    return new CallOptions(connectTimeout, readTimeout, writeTimeout, tryTimeout, deadlineNanos, pool, listener,
        upgrade);
  }
}
