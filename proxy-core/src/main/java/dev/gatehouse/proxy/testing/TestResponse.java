package dev.gatehouse.proxy.testing;

import dev.gatehouse.proxy.CheckReturnValue;
import dev.gatehouse.proxy.internal.http1.Http;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the scripted upstream of a {@link FilterHarness} answers. Immutable: {@link #header} returns a
 * changed copy.
 *
 * <pre>{@code
 * TestResponse.of(200, "{\"id\":7}").header("Content-Type", "application/json")
 * }</pre>
 */
@CheckReturnValue
public final class TestResponse {
  private final int status;
  private final List<Map.Entry<String, String>> headers;
  private final byte[] body;

  private TestResponse(int status, List<Map.Entry<String, String>> headers, byte[] body) {
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  /**
   * An answer with {@code status} and a UTF-8 body.
   *
   * @throws IllegalArgumentException if the status is not 200-599
   */
  public static TestResponse of(int status, String body) {
    return of(status, Objects.requireNonNull(body, "body").getBytes(StandardCharsets.UTF_8));
  }

  /** An answer with {@code status} and {@code body}. */
  public static TestResponse of(int status, byte[] body) {
    if (status < 200 || status > 599) {
      throw new IllegalArgumentException("status: " + status + " (expected: 200-599)");
    }
    return new TestResponse(status, List.of(), Objects.requireNonNull(body, "body").clone());
  }

  /** With a header field added (checked as the proxy checks fields). */
  public TestResponse header(String name, String value) {
    Http.checkName(name);
    Http.checkValue(name, value);
    List<Map.Entry<String, String>> h = new ArrayList<>(headers);
    h.add(Map.entry(name, value));
    return new TestResponse(status, Collections.unmodifiableList(h), body);
  }

  int status() {
    return status;
  }

  List<Map.Entry<String, String>> headers() {
    return headers;
  }

  byte[] body() {
    return body;
  }

  @Override
  public String toString() {
    return "TestResponse(" + status + ", " + body.length + " bytes)";
  }
}
