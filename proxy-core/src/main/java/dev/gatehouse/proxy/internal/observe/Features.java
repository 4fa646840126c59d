package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.metrics.MetricsOptions;

/**
 * Binds the optional features to a built proxy. Takes their library types as {@code Object}, so that
 * the builder's own code never names Micrometer or OpenTelemetry: those classes load only when a
 * feature is used.
 */
public final class Features {
  private Features() {}

  /** Binds OpenTelemetry tracing ({@code openTelemetry} is an {@code OpenTelemetry}). */
  public static void tracing(Engine engine, Object openTelemetry) {
    OtelTracing.bind(engine, (io.opentelemetry.api.OpenTelemetry) openTelemetry);
  }

  /** Binds the Micrometer meters ({@code registry} is a {@code MeterRegistry}). */
  public static void metrics(Engine engine, Object registry, MetricsOptions options) {
    MicrometerBinder.bind(engine, (io.micrometer.core.instrument.MeterRegistry) registry, options);
  }
}
