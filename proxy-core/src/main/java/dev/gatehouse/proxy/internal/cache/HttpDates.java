package dev.gatehouse.proxy.internal.cache;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/**
 * HTTP dates (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient
 * must accept. A two-digit RFC 850 year more than 50 years ahead is taken as the past century.
 */
final class HttpDates {
  private static final DateTimeFormatter IMF = DateTimeFormatter.RFC_1123_DATE_TIME;
  /** The weekday is skipped: it is checked against a century that is only known after the year is reduced. */
  private static final DateTimeFormatter RFC850 = new java.time.format.DateTimeFormatterBuilder()
      .appendPattern("dd-MMM-")
      .appendValueReduced(java.time.temporal.ChronoField.YEAR, 2, 2, java.time.LocalDate.now(ZoneOffset.UTC).getYear() - 49)
      .appendPattern(" HH:mm:ss 'GMT'")
      .toFormatter(Locale.US);
  private static final DateTimeFormatter ASCTIME =
      DateTimeFormatter.ofPattern("EEE MMM ppd HH:mm:ss yyyy", Locale.US);
  private static final DateTimeFormatter OUT =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);

  private HttpDates() {}

  /** The instant {@code value} names, or null if it is not an HTTP date. */
  static Instant parse(String value) {
    if (value == null) {
      return null;
    }
    String v = value.trim();
    if (v.isEmpty()) {
      return null;
    }
    try {
      return ZonedDateTime.parse(v, IMF).toInstant();
    } catch (DateTimeParseException e) {
      // try the obsolete forms
    }
    int comma = v.indexOf(", ");
    if (comma > 0 && v.indexOf('-') > comma) {
      try {
        // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the most recent such year past
        return LocalDateTime.parse(v.substring(comma + 2), RFC850).toInstant(ZoneOffset.UTC);
      } catch (DateTimeParseException e) {
        // next
      }
    }
    try {
      return LocalDateTime.parse(v, ASCTIME).toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /** {@code instant} as an IMF-fixdate, e.g. {@code Sun, 06 Nov 1994 08:49:37 GMT}. */
  static String format(Instant instant) {
    return OUT.format(instant);
  }
}
