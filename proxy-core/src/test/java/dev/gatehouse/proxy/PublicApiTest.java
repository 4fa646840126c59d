package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.PublicApi;
import org.junit.jupiter.api.Test;

class PublicApiTest {

  @Test
  void publicApiMentionsNoEngineOrInternalTypes() throws Exception {
    assertThat(PublicApi.violations(Filter.class)).isEmpty();
  }

  @Test
  void theSpiMentionsNoEngineOrInternalTypes() throws Exception {
    assertThat(PublicApi.violations(dev.gatehouse.proxy.spi.ProxyRuntime.class)).isEmpty();
  }

  @Test
  void theCheckFindsEngineTypesWhereTheyAre() throws Exception {
    // the internal package is allowed to use Undertow; this proves the scan sees such signatures
    assertThat(PublicApi.violations(dev.gatehouse.proxy.internal.server.Engine.class))
        .anyMatch(v -> v.contains("io.undertow."));
  }
}
