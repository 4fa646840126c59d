package dev.gatehouse.proxy.events;

/** How an upstream attempt ended, from {@link UpstreamAttempt#outcome()}. */
public enum AttemptOutcome {
  /** Still running. */
  IN_PROGRESS("in-progress"),
  /** A response arrived and was read completely (whatever its status). */
  RESPONSE("response"),
  /** No connection: refused, unreachable, name not resolved, TLS handshake failed. */
  CONNECT_ERROR("connect-error"),
  /** The upstream was too slow: connect, read, write, try or total timeout. */
  TIMEOUT("timeout"),
  /** The upstream closed or reset the connection (or the HTTP/2 stream) before the response was complete. */
  RESET("reset"),
  /** The upstream broke the protocol: a malformed or ambiguous response. */
  PROTOCOL_ERROR("protocol-error"),
  /** Not sent: a connection or pending-request limit was reached. */
  REJECTED("rejected"),
  /** Given up by the proxy: the client went away, or another attempt's response was chosen. */
  CANCELLED("cancelled"),
  /** Failed for another reason, e.g. the client's request body was malformed or too large. */
  FAILED("failed");

  private final String tag;

  AttemptOutcome(String tag) {
    this.tag = tag;
  }

  /** The outcome as a metric tag value, e.g. {@code connect-error}. */
  public String tag() {
    return tag;
  }
}
