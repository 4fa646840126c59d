package dev.gatehouse.proxy.spi;

import java.util.Objects;

/**
 * One header field added to a request sent upstream, e.g. {@code Proxy-Authorization} for a parent
 * proxy. Checked by the engine like every field it sends: a name that is not a token, or a value with
 * CR, LF or NUL, fails the call.
 *
 * @param name the field name
 * @param value the field value
 */
public record HeaderField(String name, String value) {

  /** A field; neither part may be null. */
  public HeaderField {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(value, "value");
  }
}
