package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The server leg of an intercepted tunnel is verified strictly; a refusal is a 502 that says why. */
@Timeout(60)
class UpstreamVerificationTest {
  static TestOrigin.Ca rogueCa;

  @BeforeAll
  static void cas() throws Exception {
    InterceptTest.originCa();
    rogueCa = new TestOrigin.Ca("Rogue CA");
  }

  private static HttpResponse<String> get(ProxyServer proxy, TestOrigin origin, String path) throws Exception {
    return InterceptTest.client(proxy, HttpClient.Version.HTTP_1_1)
        .send(Fwd.get("https://origin.test:" + origin.port() + path).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aServerWhoseCertificateNoTrustedCaIssuedGets502SayingSo() throws Exception {
    try (TestOrigin origin = new TestOrigin(rogueCa, "origin.test", false);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      HttpResponse<String> r = get(proxy, origin, "/");

      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).isEqualTo("Bad Gateway: the certificate of origin.test is not trusted (issued by CN=Rogue "
          + "CA, which is not a trusted authority)\n");
      assertThat(origin.received).isEmpty();
    }
  }

  @Test
  void aCertificateForAnotherNameGets502SayingWhichNamesItHas() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "other.test", false);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      HttpResponse<String> r = get(proxy, origin, "/");

      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).isEqualTo("Bad Gateway: the certificate of origin.test does not name origin.test (it names "
          + "other.test)\n");
      assertThat(origin.received).isEmpty();
    }
  }

  @Test
  void anExpiredCertificateGets502SayingWhen() throws Exception {
    Instant notAfter = Instant.now().minus(Duration.ofHours(2)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", notAfter.minus(Duration.ofDays(1)),
        notAfter, false);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      HttpResponse<String> r = get(proxy, origin, "/");

      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).isEqualTo("Bad Gateway: the certificate of origin.test has expired (not valid after "
          + notAfter + ")\n");
      assertThat(origin.received).isEmpty();
    }
  }

  @Test
  void withoutTheOriginsCaInTheTrustTheJdkRootsRefuseIt() throws Exception {
    try (TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", false);
         ProxyServer proxy = InterceptTest.proxy(origin, TlsInterception.builder(InterceptTest.CA)).build().start()) {
      HttpResponse<String> r = get(proxy, origin, "/");

      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).startsWith("Bad Gateway: the certificate of origin.test is not trusted (issued by "
          + "CN=Origin test CA");
    }
  }

  @Test
  void onlyTheLoudlyNamedSwitchSkipsVerificationAndOnlyForItsHosts() throws Exception {
    try (TestOrigin origin = new TestOrigin(rogueCa, "other.test", false);
         ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()
             .dangerouslyTrustAnyUpstreamCertificate("origin.test")).build().start()) {
      HttpResponse<String> r = get(proxy, origin, "/unchecked");

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("hello /unchecked over HTTP/1.1");

      HttpResponse<String> other = InterceptTest.client(proxy, HttpClient.Version.HTTP_1_1).send(
          Fwd.get("https://third.test:" + origin.port() + "/").build(), HttpResponse.BodyHandlers.ofString());
      assertThat(other.statusCode()).isEqualTo(502);
      assertThat(other.body()).startsWith("Bad Gateway: the certificate of third.test is not trusted");
    }
  }

  @Test
  void anUnreachableServerIsAnOrdinary502() throws Exception {
    TestOrigin origin = new TestOrigin(InterceptTest.originCa, "origin.test", false);
    origin.close(); // nothing listens on its port any more
    try (ProxyServer proxy = InterceptTest.proxy(origin, InterceptTest.interception()).build().start()) {
      HttpResponse<String> r = get(proxy, origin, "/");

      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).isEqualTo("Bad Gateway\n");
    }
  }
}
