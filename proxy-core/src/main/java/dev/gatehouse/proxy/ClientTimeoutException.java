package dev.gatehouse.proxy;

/**
 * The client stopped sending its request body, or stopped reading the response, for longer than the
 * builder's {@code idleTimeout}. Maps to 408 when the response has not started; otherwise the
 * connection is closed.
 */
public class ClientTimeoutException extends ProxyException {

  /** Creates the exception. */
  public ClientTimeoutException(String message) {
    super(message);
  }
}
