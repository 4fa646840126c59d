/**
 * Micrometer metrics for a proxy: {@code builder.metrics(registry)} binds them, {@link
 * dev.gatehouse.proxy.metrics.MetricsOptions} tunes them. Needs {@code io.micrometer:micrometer-core}
 * on the class path (an optional dependency of {@code proxy-core}). The metric names are listed on
 * {@link dev.gatehouse.proxy.metrics.MetricsOptions}.
 */
package dev.gatehouse.proxy.metrics;
