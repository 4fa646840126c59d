package dev.gatehouse.proxy;

/**
 * The upstream broke the protocol: an unparsable or ambiguous response (differing {@code Content-Length}
 * values, a bad status line, a NUL in a field), or a reset before the response head. Maps to 502.
 */
public class UpstreamResponseException extends ProxyException {

  /** Creates the exception. */
  public UpstreamResponseException(String message) {
    super(message);
  }

  /** Creates the exception with a cause. */
  public UpstreamResponseException(String message, Throwable cause) {
    super(message, cause);
  }
}
