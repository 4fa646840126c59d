package dev.gatehouse.proxy;

/** The client's request could not be read: malformed chunked framing, or a body cut short. Maps to 400. */
public class MalformedRequestException extends ProxyException {

  /** Creates the exception. */
  public MalformedRequestException(String message, Throwable cause) {
    super(message, cause);
  }
}
