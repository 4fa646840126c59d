package dev.gatehouse.proxy.internal.server;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.Protocols;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.XnioExecutor;

/**
 * What becomes of a client's request body that went over a limit while it was being sent (the request is
 * answered {@code 413} at once). Closing an HTTP/1.1 connection right after that answer, with the client's
 * bytes still unread, makes the kernel reset it, and the reset can reach the client before it has read the
 * answer: it then sees no response at all. The body's framing is intact (the limit is on its size, not its
 * syntax), so the connection stays persistent instead: once the answer is out, Undertow reads the rest of
 * the body and discards it, and the connection serves the next request. A body still arriving {@link
 * #LINGER_SECONDS} after that gets the connection closed. HTTP/2 resets only the stream, as before.
 */
public final class RejectedBody {
  private static final Logger log = LoggerFactory.getLogger(RejectedBody.class);
  /** How long the rest of a rejected body is read before the connection is closed (nginx's lingering_time). */
  static final long LINGER_SECONDS = 30;

  private RejectedBody() {}

  /** {@code hse}'s body went over a limit; call before the answer is sent. */
  public static void discardAfterAnswer(HttpServerExchange hse) {
    if (Protocols.HTTP_2_0.equals(hse.getProtocol()) || !hse.isPersistent()) {
      hse.setPersistent(false);
      return;
    }
    XnioExecutor.Key cap = hse.getIoThread().executeAfter(() -> {
      if (!hse.isRequestComplete()) {
        log.debug("{} {} from {}: the rejected body was still arriving after {} s; closing", hse.getRequestMethod(),
            hse.getRequestURI(), hse.getSourceAddress(), LINGER_SECONDS);
        IoUtils.safeClose(hse.getConnection());
      }
    }, LINGER_SECONDS, TimeUnit.SECONDS);
    hse.addExchangeCompleteListener((x, next) -> {
      cap.remove();
      next.proceed();
    });
  }
}
