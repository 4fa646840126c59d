package dev.gatehouse.proxy;

/** Base class of the exceptions the proxy reports to the {@link ErrorHandler}. */
public class ProxyException extends RuntimeException {

  /** Creates an exception with a message. */
  public ProxyException(String message) {
    super(message);
  }

  /** Creates an exception with a message and a cause. */
  public ProxyException(String message, Throwable cause) {
    super(message, cause);
  }
}
