package dev.gatehouse.proxy;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Mutable, case-insensitive, multi-valued HTTP header fields of a request or response.
 *
 * <p>Names and values are checked when set: a name must be an RFC 9110 token and a value must not
 * contain CR, LF or NUL, so a filter cannot inject a header line or split a response. Hop-by-hop fields
 * ({@code Connection}, {@code Keep-Alive}, {@code Transfer-Encoding}, ...) may be read but the proxy
 * removes them before forwarding, whatever a filter sets; message framing belongs to the proxy.
 *
 * <p>Not thread-safe: use it from the thread running the filter.
 */
public interface HttpHeaders {

  /** The first value of {@code name}, if present. */
  Optional<String> get(String name);

  /** All values of {@code name} in the order received; empty if absent. */
  List<String> getAll(String name);

  /** Whether at least one field called {@code name} is present. */
  boolean contains(String name);

  /** Replaces all values of {@code name} with {@code value}. */
  HttpHeaders set(String name, String value);

  /** Adds a value to {@code name}, keeping existing ones. */
  HttpHeaders add(String name, String value);

  /** Removes every value of {@code name}; does nothing if absent. */
  HttpHeaders remove(String name);

  /** The distinct field names present, in the case first seen. */
  Set<String> names();

  /** The number of field lines (a name with two values counts twice). */
  int size();
}
