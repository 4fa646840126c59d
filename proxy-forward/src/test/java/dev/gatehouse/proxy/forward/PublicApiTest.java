package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.PublicApi;
import org.junit.jupiter.api.Test;

class PublicApiTest {

  @Test
  void publicApiMentionsNoEngineOrInternalTypes() throws Exception {
    // TlsInterception, CertificateAuthority, InterceptionPolicy, UserPolicy and friends included
    assertThat(PublicApi.violations(ForwardProxy.class)).isEmpty();
  }
}
