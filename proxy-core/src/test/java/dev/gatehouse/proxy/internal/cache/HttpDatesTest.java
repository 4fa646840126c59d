package dev.gatehouse.proxy.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class HttpDatesTest {
  private static final Instant T = Instant.parse("1994-11-06T08:49:37Z");

  @Test
  void parsesTheThreeFormsOfRfc9110() {
    assertThat(HttpDates.parse("Sun, 06 Nov 1994 08:49:37 GMT")).isEqualTo(T);
    assertThat(HttpDates.parse("Sunday, 06-Nov-94 08:49:37 GMT")).isEqualTo(T);
    assertThat(HttpDates.parse("Sun Nov  6 08:49:37 1994")).isEqualTo(T);
  }

  @Test
  void invalidDatesAreNull() {
    assertThat(HttpDates.parse("0")).isNull();
    assertThat(HttpDates.parse("yesterday")).isNull();
    assertThat(HttpDates.parse(null)).isNull();
  }

  @Test
  void formatsImfFixdate() {
    assertThat(HttpDates.format(T)).isEqualTo("Sun, 06 Nov 1994 08:49:37 GMT");
  }
}
