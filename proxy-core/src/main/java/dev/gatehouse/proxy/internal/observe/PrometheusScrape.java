package dev.gatehouse.proxy.internal.observe;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The Prometheus text of the registry bound with {@code builder.metrics}. Loaded only when {@code
 * /metrics} is asked for, so that neither Micrometer nor its Prometheus registry must be present
 * otherwise.
 */
final class PrometheusScrape {
  static final String ARTIFACT = "io.micrometer:micrometer-registry-prometheus";

  private PrometheusScrape() {}

  /** The text, or null when {@code registry} holds no {@code PrometheusMeterRegistry}. */
  static String scrape(Object registry) {
    PrometheusMeterRegistry p = find((MeterRegistry) registry);
    return p == null ? null : p.scrape();
  }

  private static PrometheusMeterRegistry find(MeterRegistry r) {
    if (r instanceof PrometheusMeterRegistry) {
      return (PrometheusMeterRegistry) r;
    }
    if (r instanceof CompositeMeterRegistry) {
      for (MeterRegistry child : ((CompositeMeterRegistry) r).getRegistries()) {
        PrometheusMeterRegistry p = find(child);
        if (p != null) {
          return p;
        }
      }
    }
    return null;
  }

  /** Whether the Prometheus registry is on the class path. */
  static boolean available() {
    try {
      Class.forName("io.micrometer.prometheusmetrics.PrometheusMeterRegistry", false,
          PrometheusScrape.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }
}
