package dev.gatehouse.proxy.spi;

import org.jspecify.annotations.Nullable;

/** Observes one upstream call; every method runs on the exchange's I/O thread and must not block. */
public interface CallListener {

  /** The final response head arrived with {@code status}. */
  default void onResponseHead(int status) {}

  /**
   * The call ended, exactly once: {@code error} is null when the response was read completely, else why
   * it ended early ({@link java.util.concurrent.CancellationException} when the proxy gave it up).
   */
  void onEnd(@Nullable Throwable error);
}
