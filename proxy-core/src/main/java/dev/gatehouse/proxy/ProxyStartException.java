package dev.gatehouse.proxy;

/** The proxy could not start, e.g. because its address could not be bound. */
public class ProxyStartException extends ProxyException {

  /** Creates the exception. */
  public ProxyStartException(String message, Throwable cause) {
    super(message, cause);
  }
}
