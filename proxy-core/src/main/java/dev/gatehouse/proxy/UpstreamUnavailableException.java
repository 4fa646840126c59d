package dev.gatehouse.proxy;

/**
 * No upstream can take the request now: every server is down or ejected, a connection or pending-request
 * limit is reached, or a circuit is open. Maps to 503, quickly, instead of queueing without bound.
 */
public class UpstreamUnavailableException extends ProxyException {

  /** Creates the exception; {@code message} says why, and is logged (not sent to the client). */
  public UpstreamUnavailableException(String message) {
    super(message);
  }
}
