package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.ProxyBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The bench mains' observability switches: {@code ADMIN_PORT} opens the admin listener on that
 * loopback port, {@code METRICS=1} binds a Prometheus registry (served at the admin listener's {@code
 * /metrics}); neither is on by default, so the default run measures the proxy without them.
 */
final class BenchAdmin {
  private BenchAdmin() {}

  static void apply(ProxyBuilder<?> builder) {
    String adminPort = System.getenv("ADMIN_PORT");
    if (adminPort != null && !adminPort.isEmpty()) {
      builder.adminPort(Integer.parseInt(adminPort));
    }
    if ("1".equals(System.getenv("METRICS"))) {
      builder.metrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }
  }
}
