package dev.gatehouse.proxy;

/** The upstream sent nothing for longer than the read timeout. Maps to 504. */
public class UpstreamTimeoutException extends ProxyException {

  /** Creates the exception. */
  public UpstreamTimeoutException(String message) {
    super(message);
  }
}
