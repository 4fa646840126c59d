package dev.gatehouse.proxy.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class ConditionalsTest {
  private static final Instant LM = Instant.parse("2024-01-01T00:00:00Z");

  @Test
  void ifNoneMatchUsesTheWeakComparison() {
    assertThat(Conditionals.notModified("W/\"a\"", null, "\"a\"", null, null)).isTrue();
    assertThat(Conditionals.notModified("\"x\", \"a\"", null, "W/\"a\"", null, null)).isTrue();
    assertThat(Conditionals.notModified("\"b\"", null, "\"a\"", null, null)).isFalse();
    assertThat(Conditionals.notModified("*", null, "\"a\"", null, null)).isTrue();
    assertThat(Conditionals.notModified("\"a\"", null, null, LM, null)).isFalse();
  }

  @Test
  void ifModifiedSinceIsIgnoredWhenIfNoneMatchIsPresent() {
    assertThat(Conditionals.notModified("\"b\"", "Mon, 01 Jan 2024 00:00:00 GMT", "\"a\"", LM, null)).isFalse();
  }

  @Test
  void ifModifiedSinceComparesWithLastModifiedOrDate() {
    assertThat(Conditionals.notModified(null, "Mon, 01 Jan 2024 00:00:00 GMT", null, LM, null)).isTrue();
    assertThat(Conditionals.notModified(null, "Sun, 31 Dec 2023 23:59:59 GMT", null, LM, null)).isFalse();
    assertThat(Conditionals.notModified(null, "Mon, 01 Jan 2024 00:00:00 GMT", null, null, LM)).isTrue();
    assertThat(Conditionals.notModified(null, "not a date", null, LM, null)).isFalse();
  }

  @Test
  void ifRangeNeedsAStrongMatch() {
    assertThat(Conditionals.ifRangeHolds("\"a\"", "\"a\"", null, null)).isTrue();
    assertThat(Conditionals.ifRangeHolds("\"a\"", "W/\"a\"", null, null)).isFalse();
    assertThat(Conditionals.ifRangeHolds("W/\"a\"", "\"a\"", null, null)).isFalse();
    assertThat(Conditionals.ifRangeHolds("Mon, 01 Jan 2024 00:00:00 GMT", null, "x", LM)).isTrue();
    assertThat(Conditionals.ifRangeHolds("Tue, 02 Jan 2024 00:00:00 GMT", null, "x", LM)).isFalse();
  }
}
