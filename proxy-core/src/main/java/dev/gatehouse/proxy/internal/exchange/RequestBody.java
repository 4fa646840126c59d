package dev.gatehouse.proxy.internal.exchange;

import io.undertow.server.HttpServerExchange;
import org.xnio.channels.StreamSourceChannel;

/**
 * The client's request body as the upstream calls of one exchange share it: only one call may stream
 * it, unless it is kept for a retry ({@link ReplayBuffer}); its channel and whether it has ended are
 * the same for every call. Made only for a request with a body.
 */
public final class RequestBody {
  private final HttpServerExchange hse;
  private final RequestImpl request;
  private boolean claimed;
  private StreamSourceChannel channel;
  private boolean done;
  /** Some of the body has been read (and so is gone unless kept for replay). */
  private boolean read;
  private ReplayBuffer replay;

  RequestBody(HttpServerExchange hse, RequestImpl request) {
    this.hse = hse;
    this.request = request;
  }

  /** Keeps up to {@code limit} bytes for a retry; see {@link ExchangeImpl#enableRequestReplay}. */
  void enableReplay(long limit) {
    if (replay != null || claimed) {
      return;
    }
    replay = new ReplayBuffer(limit);
    if (request.contentLength() > limit || (request.transformers() != null && !request.transformers().isEmpty())) {
      replay.overflow();
    }
  }

  /** Whether another call can still send the whole body. */
  boolean canResend() {
    if (!claimed || !read) {
      return true;
    }
    return replay != null && !replay.overflowed()
        && (request.transformers() == null || request.transformers().isEmpty());
  }

  /** Claims the body for a call: the first call always may, a later one only if the body can be resent. */
  public boolean claim() {
    if (claimed) {
      return canResend();
    }
    claimed = true;
    return true;
  }

  /** What an earlier call read, kept for a retry; null when nothing is kept. */
  public ReplayBuffer replay() {
    return replay != null && !replay.overflowed() ? replay : null;
  }

  /** The client's body channel; the same one for every call. */
  public StreamSourceChannel channel() {
    if (channel == null) {
      channel = hse.getRequestChannel();
    }
    return channel;
  }

  /** Whether the client's body has been read to its end. */
  public boolean done() {
    return done;
  }

  /** The client's body has been read to its end. */
  public void markDone() {
    done = true;
  }

  /** Some of the body was read from the client. */
  void markRead() {
    read = true;
  }
}
