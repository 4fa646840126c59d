package dev.gatehouse.proxy.cache;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;

/** A clock the test moves by hand. */
final class TestClock implements InstantSource {
  private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2024-06-01T12:00:00Z"));

  @Override
  public Instant instant() {
    return now.get();
  }

  void advance(Duration d) {
    now.updateAndGet(t -> t.plus(d));
  }

  /** The current time as an HTTP date. */
  String httpDate() {
    return java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME.format(instant().atZone(java.time.ZoneOffset.UTC));
  }
}
