/**
 * Micrometer metrics for a proxy: {@code builder.metrics(registry)} binds them, {@link
 * dev.gatehouse.proxy.metrics.MetricsOptions} tunes them. Needs {@code io.micrometer:micrometer-core}
 * on the class path (an optional dependency of {@code proxy-core}). The metric names are listed on
 * {@link dev.gatehouse.proxy.metrics.MetricsOptions}.
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.metrics;

import org.jspecify.annotations.NullMarked;
