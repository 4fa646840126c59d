package dev.gatehouse.proxy.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class CacheControlTest {

  @Test
  void parsesResponseDirectivesCaseInsensitively() {
    CacheControl cc = CacheControl.parse("Public, MAX-AGE=60, s-maxage=120, must-revalidate, no-transform, immutable");
    assertThat(cc.isPublic).isTrue();
    assertThat(cc.maxAge).isEqualTo(60);
    assertThat(cc.sMaxAge).isEqualTo(120);
    assertThat(cc.mustRevalidate).isTrue();
    assertThat(cc.noTransform).isTrue();
    assertThat(cc.immutable).isTrue();
  }

  @Test
  void combinesFieldLinesAndKeepsTheFirstOfARepeatedDirective() {
    CacheControl cc = CacheControl.parse(List.of("max-age=10", "max-age=99, proxy-revalidate"));
    assertThat(cc.maxAge).isEqualTo(10);
    assertThat(cc.proxyRevalidate).isTrue();
  }

  @Test
  void invalidMaxAgeMakesTheResponseStale() {
    assertThat(CacheControl.parse("max-age=ten").maxAge).isZero();
    assertThat(CacheControl.parse("max-age=-5").maxAge).isZero();
    assertThat(CacheControl.parse("s-maxage=").sMaxAge).isZero();
  }

  @Test
  void hugeDeltaSecondsAreCappedAtTwoToTheThirtyOne() {
    assertThat(CacheControl.parse("max-age=99999999999999999999").maxAge).isEqualTo(2147483648L);
  }

  @Test
  void qualifiedNoCacheAndPrivateListTheirFields() {
    CacheControl cc = CacheControl.parse("no-cache=\"Set-Cookie, X-Secret\", private=\"X-User\"");
    assertThat(cc.noCache).isTrue();
    assertThat(cc.noCacheFields).containsExactly("set-cookie", "x-secret");
    assertThat(cc.isPrivate).isTrue();
    assertThat(cc.privateFields).containsExactly("x-user");
  }

  @Test
  void requestDirectives() {
    CacheControl cc = CacheControl.parse("max-stale, min-fresh=5, only-if-cached, no-store, stale-if-error=30");
    assertThat(cc.maxStale).isEqualTo(CacheControl.MAX_DELTA);
    assertThat(cc.minFresh).isEqualTo(5);
    assertThat(cc.onlyIfCached).isTrue();
    assertThat(cc.noStore).isTrue();
    assertThat(cc.staleIfError).isEqualTo(30);
    assertThat(CacheControl.parse("max-stale=20").maxStale).isEqualTo(20);
  }

  @Test
  void unknownDirectivesAndStrayCommasAreIgnored() {
    CacheControl cc = CacheControl.parse(" , community=\"UCI\", ,max-age=5,");
    assertThat(cc.maxAge).isEqualTo(5);
    assertThat(cc.present).isTrue();
  }

  @Test
  void targetedFieldIsAStructuredDictionary() {
    CacheControl cc = CacheControl.parseTargeted(List.of("max-age=600, stale-while-revalidate=30, must-revalidate"));
    assertThat(cc).isNotNull();
    assertThat(cc.maxAge).isEqualTo(600);
    assertThat(cc.staleWhileRevalidate).isEqualTo(30);
    assertThat(cc.mustRevalidate).isTrue();
    assertThat(CacheControl.parseTargeted(List.of("no-store")).noStore).isTrue();
    assertThat(CacheControl.parseTargeted(List.of("private=\"x-user\"")).privateFields).containsExactly("x-user");
  }

  @Test
  void targetedFieldThatDoesNotParseIsIgnored() {
    assertThat(CacheControl.parseTargeted(List.of("Max-Age=600"))).isNull(); // keys are lower case
    assertThat(CacheControl.parseTargeted(List.of("max-age=600,"))).isNull();
    assertThat(CacheControl.parseTargeted(List.of("max-age=\"600"))).isNull();
    assertThat(CacheControl.parseTargeted(List.of(""))).isNull();
    assertThat(CacheControl.parseTargeted(List.of())).isNull();
  }

  @Test
  void targetedDirectiveOfTheWrongTypeIsIgnored() {
    CacheControl cc = CacheControl.parseTargeted(List.of("max-age=\"600\", no-store=?0, public"));
    assertThat(cc).isNotNull();
    assertThat(cc.maxAge).isEqualTo(-1);
    assertThat(cc.noStore).isFalse();
    assertThat(cc.isPublic).isTrue();
  }
}
