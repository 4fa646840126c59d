package dev.gatehouse.proxy.internal.upstream;

import java.nio.ByteBuffer;

/**
 * Sees an upstream response body as it is received (before any body transformer), and learns how it
 * ended: completely, or cut. All calls come on the exchange's I/O thread, in order; exactly one of
 * {@link #onComplete()} and {@link #onAbort()} ends the stream.
 */
public interface BodyObserver {

  /**
   * A chunk of the body as received. It is borrowed: read it without moving its position (a {@code
   * duplicate()} or absolute gets) and keep no reference after returning.
   */
  void onData(ByteBuffer chunk);

  /** The whole body has been received from the upstream. */
  void onComplete();

  /** The body was cut: the upstream failed mid-body, the client left, or the exchange was aborted. */
  void onAbort();

  /**
   * Asked when the client leaves before the end of the body: whether the rest is still wanted (a cache
   * storing it, or other requests following it). If so, the body is read to its end without the client.
   */
  default boolean wantsRest() {
    return false;
  }
}
