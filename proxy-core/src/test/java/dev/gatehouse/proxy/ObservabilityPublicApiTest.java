package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.events.ProxyListener;
import dev.gatehouse.proxy.metrics.MetricsOptions;
import dev.gatehouse.proxy.testsupport.PublicApi;
import org.junit.jupiter.api.Test;

/** The listener SPI and the metrics options expose no engine or internal type either. */
class ObservabilityPublicApiTest {

  @Test
  void theEventsPackageMentionsNoEngineOrInternalTypes() throws Exception {
    assertThat(PublicApi.violations(ProxyListener.class)).isEmpty();
  }

  @Test
  void theTestKitMentionsNoEngineOrInternalTypes() throws Exception {
    assertThat(PublicApi.violations(dev.gatehouse.proxy.testing.FilterHarness.class)).isEmpty();
  }

  @Test
  void theMetricsPackageMentionsNoEngineOrInternalTypes() throws Exception {
    assertThat(PublicApi.violations(MetricsOptions.class)).isEmpty();
  }
}
