package dev.gatehouse.proxy.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ByteRangeTest {

  @Test
  void singleRanges() {
    ByteRange r = ByteRange.parse("bytes=0-99", 1000);
    assertThat(r.first).isZero();
    assertThat(r.last).isEqualTo(99);
    r = ByteRange.parse("bytes=900-", 1000);
    assertThat(r.first).isEqualTo(900);
    assertThat(r.last).isEqualTo(999);
    r = ByteRange.parse("bytes=-100", 1000);
    assertThat(r.first).isEqualTo(900);
    assertThat(r.last).isEqualTo(999);
    r = ByteRange.parse("bytes=990-2000", 1000);
    assertThat(r.last).isEqualTo(999);
    r = ByteRange.parse("bytes=-5000", 1000);
    assertThat(r.first).isZero();
  }

  @Test
  void unsatisfiable() {
    assertThat(ByteRange.parse("bytes=1000-", 1000)).isSameAs(ByteRange.UNSATISFIABLE);
    assertThat(ByteRange.parse("bytes=-0", 1000)).isSameAs(ByteRange.UNSATISFIABLE);
    assertThat(ByteRange.parse("bytes=0-", 0)).isSameAs(ByteRange.UNSATISFIABLE);
  }

  @Test
  void invalidOrSeveralRangesAreIgnored() {
    assertThat(ByteRange.parse("bytes=5-1", 1000)).isNull();
    assertThat(ByteRange.parse("items=0-1", 1000)).isNull();
    assertThat(ByteRange.parse("bytes=0-1,5-6", 1000)).isNull();
    assertThat(ByteRange.parse("bytes=a-b", 1000)).isNull();
    assertThat(ByteRange.parse("bytes=", 1000)).isNull();
  }
}
