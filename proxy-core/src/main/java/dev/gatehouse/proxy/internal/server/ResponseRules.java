package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.ErrorHandler;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.exchange.Transformers;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a failure becomes the client's response, and how a locally made body goes through its
 * transformers: the engine and the in-memory filter harness share these, so a filter sees the same
 * answers in both.
 */
public final class ResponseRules {
  private static final Logger log = LoggerFactory.getLogger(ResponseRules.class);

  private ResponseRules() {}

  /** The failure inside {@code CompletionException} / {@code ExecutionException} wrappers. */
  public static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * The {@code handler}'s answer to {@code error}; the default handler's when it returns null or
   * throws (logged).
   */
  public static ProxyResponse errorResponse(ErrorHandler handler, ProxyExchange exchange, Throwable error,
      ErrorHandler.Phase phase) {
    try {
      ProxyResponse r = handler.handle(exchange, error, phase);
      if (r != null) {
        return r;
      }
      log.error("errorHandler returned null for {}", error.toString());
    } catch (RuntimeException e) {
      log.error("errorHandler threw while handling {}", error.toString(), e);
    }
    return DefaultErrorHandler.INSTANCE.handle(exchange, error, phase);
  }

  /** A whole body through {@code transformers} in order, each one's trailing bytes included. */
  public static byte[] transform(byte[] body, List<BodyTransformer> transformers) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Consumer<ByteBuffer> sink = b -> {
      byte[] a = new byte[b.remaining()];
      b.get(a);
      out.write(a, 0, a.length);
    };
    if (body != null && body.length > 0) {
      Transformers.apply(transformers, ByteBuffer.wrap(body), sink);
    }
    Transformers.finish(transformers, sink);
    return out.toByteArray();
  }
}
