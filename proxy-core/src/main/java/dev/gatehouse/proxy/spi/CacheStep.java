package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.ProxyResponse;
import java.util.concurrent.CompletionStage;

/**
 * An {@link dev.gatehouse.proxy.cache.HttpCache} as a step in front of a terminal's upstream call,
 * where the terminal places it (per route, or after a policy decision): {@link ProxyRuntime#cacheStep}.
 */
@FunctionalInterface
public interface CacheStep {

  /**
   * Answers {@code exchange} from the cache where RFC 9111 allows, and otherwise through {@code
   * upstream}, storing what it may. {@code upstream} may also be called with an exchange of the
   * cache's own (a background revalidation), which has no client.
   */
  CompletionStage<ProxyResponse> handle(Exchange exchange, Terminal upstream);
}
