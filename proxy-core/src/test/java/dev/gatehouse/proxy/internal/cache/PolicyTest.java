package dev.gatehouse.proxy.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.cache.StoredResponse;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Freshness (RFC 9111 §4.2) and targeted fields (RFC 9213) as a shared cache sees them. */
class PolicyTest {
  private static final Instant NOW = Instant.parse("2024-06-01T12:00:00Z");
  private static final String DATE = "Sat, 01 Jun 2024 12:00:00 GMT";

  private static Policy policy(int status, String... nameValues) {
    StoredResponse.Builder b = StoredResponse.builder("k", status).responseTime(NOW).requestTime(NOW);
    for (int i = 0; i < nameValues.length; i += 2) {
      b.header(nameValues[i], nameValues[i + 1]);
    }
    return Policy.of(b.build(), TestSettings.defaults());
  }

  @Test
  void sMaxAgeWinsOverMaxAgeWhichWinsOverExpires() {
    assertThat(policy(200, "Cache-Control", "max-age=10, s-maxage=20", "Date", DATE,
        "Expires", "Sat, 01 Jun 2024 13:00:00 GMT").lifetime).isEqualTo(20);
    assertThat(policy(200, "Cache-Control", "max-age=10", "Date", DATE,
        "Expires", "Sat, 01 Jun 2024 13:00:00 GMT").lifetime).isEqualTo(10);
    Policy p = policy(200, "Date", DATE, "Expires", "Sat, 01 Jun 2024 13:00:00 GMT");
    assertThat(p.lifetime).isEqualTo(3600);
    assertThat(p.explicit).isTrue();
  }

  @Test
  void invalidExpiresMeansAlreadyExpired() {
    Policy p = policy(200, "Date", DATE, "Expires", "0");
    assertThat(p.lifetime).isZero();
    assertThat(p.explicit).isTrue();
  }

  @Test
  void heuristicFreshnessIsAFractionOfTheLastModifiedAgeCapped() {
    // modified 10 days before Date: 10% = 1 day (the cap)
    assertThat(policy(200, "Date", DATE, "Last-Modified", "Wed, 22 May 2024 12:00:00 GMT").lifetime).isEqualTo(86400);
    // modified 10 hours before: 1 hour
    Policy p = policy(200, "Date", DATE, "Last-Modified", "Sat, 01 Jun 2024 02:00:00 GMT");
    assertThat(p.lifetime).isEqualTo(3600);
    assertThat(p.explicit).isFalse();
  }

  @Test
  void heuristicsOnlyWhereTheRfcPermits() {
    // 302 is not heuristically cacheable; 404 is; public makes any status eligible
    assertThat(policy(302, "Date", DATE, "Last-Modified", "Sat, 01 Jun 2024 02:00:00 GMT").lifetime).isZero();
    assertThat(policy(404, "Date", DATE, "Last-Modified", "Sat, 01 Jun 2024 02:00:00 GMT").lifetime).isEqualTo(3600);
    assertThat(policy(302, "Date", DATE, "Last-Modified", "Sat, 01 Jun 2024 02:00:00 GMT",
        "Cache-Control", "public").lifetime).isEqualTo(3600);
    assertThat(policy(200, "Date", DATE).lifetime).isZero(); // no Last-Modified, nothing to go on
  }

  @Test
  void targetedFieldReplacesCacheControlAndExpires() {
    Policy p = policy(200, "Cache-Control", "no-store", "CDN-Cache-Control", "max-age=300", "Date", DATE,
        "Expires", "Sat, 01 Jun 2024 13:00:00 GMT");
    assertThat(p.targeted).isTrue();
    assertThat(p.cc.noStore).isFalse();
    assertThat(p.lifetime).isEqualTo(300);
    // no max-age in the targeted field: Expires is ignored too
    Policy q = policy(200, "Cache-Control", "max-age=60", "CDN-Cache-Control", "public", "Date", DATE,
        "Expires", "Sat, 01 Jun 2024 13:00:00 GMT");
    assertThat(q.lifetime).isZero();
  }

  @Test
  void invalidTargetedFieldFallsBackToCacheControl() {
    Policy p = policy(200, "Cache-Control", "max-age=60", "CDN-Cache-Control", "max-age=300,,");
    assertThat(p.targeted).isFalse();
    assertThat(p.lifetime).isEqualTo(60);
  }

  @Test
  void varyIsLowerCasedAndStarRecognised() {
    assertThat(policy(200, "Vary", "Accept-Encoding, X-A", "Vary", "x-a").vary).containsExactly("accept-encoding", "x-a");
    assertThat(policy(200, "Vary", "*").varyStar()).isTrue();
  }

  @Test
  void sMaxAgeForbidsServingStaleAsProxyRevalidateDoes() {
    assertThat(policy(200, "Cache-Control", "s-maxage=5").noStaleServing()).isTrue();
    assertThat(policy(200, "Cache-Control", "max-age=5, proxy-revalidate").noStaleServing()).isTrue();
    assertThat(policy(200, "Cache-Control", "max-age=5").noStaleServing()).isFalse();
  }

  @Test
  void ageFollowsRfc9111Section423() {
    Instant requestTime = Instant.parse("2024-06-01T11:59:58Z");
    Instant responseTime = Instant.parse("2024-06-01T12:00:00Z");
    // the origin's clock is 10 s behind: apparent age 10; Age 5 + 2 s delay = 7; the larger wins
    Duration initial = Policy.initialAge(requestTime, responseTime, "Sat, 01 Jun 2024 11:59:50 GMT", "5");
    assertThat(initial).isEqualTo(Duration.ofSeconds(10));
    // Age 30 + delay 2 beats an apparent age of 0
    assertThat(Policy.initialAge(requestTime, responseTime, DATE, "30")).isEqualTo(Duration.ofSeconds(32));
    StoredResponse r = StoredResponse.builder("k", 200).responseTime(responseTime).initialAge(initial).build();
    assertThat(Policy.currentAge(r, responseTime.plusSeconds(100))).isEqualTo(110);
  }
}
