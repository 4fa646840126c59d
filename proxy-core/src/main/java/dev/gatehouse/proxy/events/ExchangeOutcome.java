package dev.gatehouse.proxy.events;

/** How an exchange ended, from {@link ExchangeInfo#outcome()}. */
public enum ExchangeOutcome {
  /** Not ended yet. */
  IN_PROGRESS("in-progress"),
  /** An upstream's response was sent to the client completely. */
  UPSTREAM("upstream"),
  /**
   * A response the proxy made was sent completely: a filter's short-circuit, no route (404), an
   * egress denial (403), proxy authentication (407), a {@code Max-Forwards} answer.
   */
  LOCAL("local"),
  /** The {@link dev.gatehouse.proxy.ErrorHandler}'s answer to a failure was sent (502, 503, 504, 500, ...). */
  ERROR("error"),
  /** The request was refused before any filter ran: malformed, over a limit (400, 413, 414, 431, ...). */
  REJECTED("rejected"),
  /** The response could not be completed: the client went away, or the upstream failed mid-body. */
  ABORTED("aborted"),
  /**
   * The exchange became a {@code CONNECT} tunnel that has now closed. (An upgrade such as WebSocket
   * ends as {@link #UPSTREAM} when the {@code 101} has been sent; its tunnel is reported by {@link
   * ProxyListener#tunnelOpened} and {@link ProxyListener#tunnelClosed}.)
   */
  TUNNEL("tunnel");

  private final String tag;

  ExchangeOutcome(String tag) {
    this.tag = tag;
  }

  /** The outcome as a metric tag value, e.g. {@code upstream}. */
  public String tag() {
    return tag;
  }
}
