package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.PublicApi;
import org.junit.jupiter.api.Test;

class PublicApiTest {

  @Test
  void publicApiMentionsNoEngineOrInternalTypes() throws Exception {
    assertThat(PublicApi.violations(ReverseProxy.class)).isEmpty();
  }
}
