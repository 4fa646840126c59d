package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.spi.CidrSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers {@code PURGE} from trusted addresses: the request's URI (its cache key), or the tags of a
 * {@code Surrogate-Key} request field. Anything else passes on.
 */
public final class PurgeFilter implements Filter {
  private static final Logger log = LoggerFactory.getLogger(PurgeFilter.class);

  private final CacheEngine engine;
  private final CidrSet trusted;

  public PurgeFilter(CacheEngine engine, CidrSet trusted) {
    this.engine = engine;
    this.trusted = trusted;
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    if (!"PURGE".equals(exchange.request().method())) {
      return chain.proceed();
    }
    ExchangeImpl ex = (ExchangeImpl) exchange;
    if (!trusted.contains(exchange.clientAddress().getAddress())) {
      log.info("{}: PURGE refused: {} is not a trusted address", ex, exchange.clientAddress().getAddress());
      return CompletableFuture.completedFuture(ProxyResponse.of(403, "Forbidden\n"));
    }
    List<String> tags = new ArrayList<>();
    for (String v : exchange.request().headers().getAll("Surrogate-Key")) {
      for (String t : v.trim().split("[ \t]+")) {
        if (StoredResponseTags.valid(t)) {
          tags.add(t);
        }
      }
    }
    CompletableFuture<Long> purged;
    if (tags.isEmpty()) {
      purged = engine.purgeKey(CacheRequest.of(ex, engine.settings()).key).toCompletableFuture();
    } else {
      purged = CompletableFuture.completedFuture(0L);
      for (String t : tags) {
        CompletableFuture<Long> one = engine.purgeTag(t).toCompletableFuture();
        purged = purged.thenCombine(one, Long::sum);
      }
    }
    return purged.thenApply(n -> {
      log.info("{}: PURGE from {} removed {} responses", ex, exchange.clientAddress().getAddress(), n);
      return ProxyResponse.of(200, "purged " + n + "\n");
    });
  }
}
