package dev.gatehouse.proxy.internal.upstream;

import io.undertow.io.IoCallback;
import io.undertow.io.Sender;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpContinue;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.xnio.XnioExecutor;

/**
 * {@code Expect: 100-continue} for one {@link UpstreamCall} (RFC 9110 §10.1.1), made only for a request
 * that asks for it. When the head goes to an HTTP/1.1 upstream with the expectation, the client's body
 * waits for the upstream's {@code 100 Continue}, or for a second (as curl waits) if it says nothing; a
 * final response instead refuses the body. Otherwise (HTTP/2, a body transformer that holds the head)
 * the proxy tells the client to go ahead at once. Either way the client gets its {@code 100 Continue}
 * only when its body is about to be read.
 */
final class ExpectContinue {
  /** How long to wait for an upstream's 100 Continue before sending the body anyway (as curl does). */
  private static final long WAIT_MS = 1000;

  private final UpstreamCall call;
  private final HttpServerExchange hse;
  private boolean awaiting;
  private boolean decided;
  private XnioExecutor.Key timer;

  ExpectContinue(UpstreamCall call, HttpServerExchange hse) {
    this.call = call;
    this.hse = hse;
  }

  /** Whether the proxy waits for the upstream's go-ahead (an upstream wait, for the read timeout). */
  boolean awaiting() {
    return awaiting;
  }

  /** The head was written with {@code Expect: 100-continue}: wait for the upstream's go-ahead. */
  void await() {
    if (decided || awaiting) {
      return;
    }
    awaiting = true;
    call.timeouts().touch();
    timer = hse.getIoThread().executeAfter(() -> {
      timer = null;
      if (awaiting && !call.isAborted()) {
        // The upstream neither accepted nor refused: let the client send the body anyway.
        awaiting = false;
        continueClient();
      }
    }, WAIT_MS, TimeUnit.MILLISECONDS);
  }

  /** The upstream sent {@code 100 Continue}. */
  void onContinue() {
    if (awaiting) {
      awaiting = false;
      cancelTimer();
      continueClient();
    }
  }

  /**
   * A final response arrived: if the proxy was still waiting, the upstream refused the body, and
   * returns true (the body will not be sent, so neither side can be reused).
   */
  boolean refusedBy() {
    if (!awaiting) {
      return false;
    }
    decided = true;
    awaiting = false;
    cancelTimer();
    return true;
  }

  /** Tells the client to send its body (100 Continue), then streams it. */
  void continueClient() {
    decided = true;
    BodyPump pump = call.pump();
    if (HttpContinue.requiresContinueResponse(hse) && !HttpContinue.isContinueResponseSent(hse)) {
      HttpContinue.sendContinueResponse(hse, new IoCallback() {
        @Override
        public void onComplete(HttpServerExchange exchange, Sender unused) {
          if (pump == call.pump() && !call.isAborted()) {
            pump.startBody();
          }
        }

        @Override
        public void onException(HttpServerExchange exchange, Sender unused, IOException e) {
          call.clientGone(e);
        }
      });
    } else {
      pump.startBody();
    }
  }

  /** The request is sent again on a new connection: nothing was decided yet. */
  void reset() {
    awaiting = false;
    decided = false;
    cancelTimer();
  }

  void cancelTimer() {
    if (timer != null) {
      timer.remove();
      timer = null;
    }
  }
}
