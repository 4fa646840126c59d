package dev.gatehouse.proxy;

/** The upstream could not be reached: refused, unreachable, unresolvable or too slow to accept. Maps to 502. */
public class UpstreamConnectException extends ProxyException {

  /** Creates the exception. */
  public UpstreamConnectException(String message, Throwable cause) {
    super(message, cause);
  }
}
