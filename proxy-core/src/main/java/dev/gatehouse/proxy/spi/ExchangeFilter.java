package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.ProxyResponse;
import java.util.concurrent.CompletionStage;

/**
 * A direction module's own step before the builder's filters (the forward proxy's target parsing,
 * proxy authentication and egress decision), with the engine's view of the exchange. It runs under
 * the same rules as a {@link dev.gatehouse.proxy.Filter}; its {@code toString()} names it in logs.
 */
@FunctionalInterface
public interface ExchangeFilter {

  /** Handles {@code exchange}; calls {@code chain.proceed()} at most once; never returns null. */
  CompletionStage<ProxyResponse> filter(Exchange exchange, Chain chain);
}
