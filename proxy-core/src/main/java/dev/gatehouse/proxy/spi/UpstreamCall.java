package dev.gatehouse.proxy.spi;

import dev.gatehouse.proxy.ProxyResponse;
import java.util.concurrent.CompletionStage;

/**
 * One request sent to an upstream by {@link Exchange#call}: its response head arrives as a stage, its
 * end is told to the {@link CallListener} of its {@link CallOptions}. A call the chain does not return
 * is given up by the engine once the exchange responds.
 */
public interface UpstreamCall {

  /** Completes on the exchange's I/O thread with the response head, or with why there is none. */
  CompletionStage<ProxyResponse> response();

  /** Whether any byte of the request reached the upstream (so it may have acted on it). */
  boolean requestBytesWritten();

  /** Where the call goes. */
  Endpoint endpoint();

  /** Gives the call up: its connection closes (or its stream is reset); its response, if any, is not sent. */
  void abort();
}
