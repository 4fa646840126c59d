package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.ProxyResponse;
import java.util.concurrent.CompletionStage;

/**
 * The last step of a proxy's chain, after every filter: decides where the request goes and returns
 * the response (a reverse proxy's route table, a forward proxy's egress). Called on the exchange's I/O
 * thread; must not block.
 */
@FunctionalInterface
public interface Terminal {

  /** Handles {@code exchange}; never returns null. */
  CompletionStage<ProxyResponse> handle(Exchange exchange);
}
