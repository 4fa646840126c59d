package dev.gatehouse.proxy;

/**
 * A body went over a configured limit: {@code maxRequestBodySize} or an {@link
 * BodyTransformers#aggregate} limit. Maps to 413 for a request body and 502 for a response body.
 */
public class BodyTooLargeException extends ProxyException {
  private final long limit;

  /** Creates the exception for a limit of {@code limit} bytes. */
  public BodyTooLargeException(long limit) {
    super("body larger than " + limit + " bytes");
    this.limit = limit;
  }

  /** The limit that was exceeded, in bytes. */
  public long limit() {
    return limit;
  }
}
