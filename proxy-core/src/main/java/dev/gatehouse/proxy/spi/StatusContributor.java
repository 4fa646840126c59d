package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.ProxyStatus;
import java.util.List;
import java.util.Map;

/**
 * Adds a module's part to {@link dev.gatehouse.proxy.ProxyStatus}: the reverse proxy its routes and
 * groups, a cache or rate limiter its counters. Called on whatever thread asks for the status; must be
 * quick and must not block.
 */
public interface StatusContributor {

  /** Routes, in matching order. */
  default List<ProxyStatus.Route> routes() {
    return List.of();
  }

  /** Upstream groups. */
  default List<ProxyStatus.Group> groups() {
    return List.of();
  }

  /** Counters by feature name, e.g. {@code cache -> {entries: 12, hits: 340}}. */
  default Map<String, Map<String, Long>> features() {
    return Map.of();
  }
}
