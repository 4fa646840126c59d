package dev.gatehouse.proxy;

import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * One request passing through the proxy: the request as it will be forwarded, who sent it, and typed
 * attributes that filters share.
 *
 * <p>Not thread-safe. A filter may read and change the exchange on the thread it was called on, and on
 * the thread of a stage it chains; it must not touch it from two threads at once.
 */
public interface ProxyExchange {

  /** The request as it will be forwarded; filters may change it before calling {@code proceed()}. */
  ProxyRequest request();

  /** The address of the peer that opened the connection to the proxy (not taken from any header). */
  InetSocketAddress clientAddress();

  /** The local address the request arrived on. */
  InetSocketAddress localAddress();

  /**
   * The client address the proxy believes, taking {@code X-Forwarded-For} / {@code Forwarded} into
   * account only when the peer is one of the builder's trusted proxies; otherwise {@link
   * #clientAddress()}'s host.
   */
  String realClientIp();

  /** Whether the client connection is TLS. */
  boolean isSecure();

  /**
   * The certificate chain the client presented, leaf first, as the TLS handshake verified it against
   * the listener's trust anchors ({@link ServerTls.Builder#clientAuth}); empty when the connection is
   * not TLS or the client presented none.
   */
  java.util.List<java.security.cert.X509Certificate> peerCertificates();

  /** The value stored under {@code key}, if any. */
  <T> Optional<T> attribute(AttributeKey<T> key);

  /** Stores {@code value} under {@code key}; {@code null} removes it. */
  <T> void attribute(AttributeKey<T> key, @Nullable T value);

  /**
   * An executor for blocking work (JDBC, blocking HTTP, file I/O). Stages completed on it are moved back
   * to the I/O thread by the proxy when they continue the chain.
   */
  Executor blockingExecutor();

  /** Nanoseconds (per {@link System#nanoTime()}) when the request head was received. */
  long startNanos();

  /**
   * Runs {@code callback} once when the exchange ends: the response has been sent, or the exchange
   * failed or was abandoned (client gone, proxy closing). Callbacks run on the exchange's I/O thread in
   * registration order, after the last body chunk has passed the body transformers, so a filter can
   * release what it holds for the exchange (a concurrency permit, a native compressor). A callback must
   * not block; an exception it throws is logged and the other callbacks still run. Registered after the
   * exchange ended, the callback runs at once.
   */
  void onComplete(Runnable callback);

  /**
   * Answers the exchange itself, without calling the rest of the chain or the upstream (a
   * short-circuit): {@code return exchange.respond(401, "missing key");}. The response has a short
   * plain-text body ({@code text/plain; charset=utf-8}).
   *
   * @throws IllegalArgumentException if {@code status} is not 200-599
   */
  default CompletionStage<ProxyResponse> respond(int status, String text) {
    return CompletableFuture.completedStage(ProxyResponse.of(status, text));
  }

  /**
   * Answers the exchange itself with a response without a body; see {@link #respond(int, String)}.
   *
   * @throws IllegalArgumentException if {@code status} is not 200-599
   */
  default CompletionStage<ProxyResponse> respond(int status) {
    return CompletableFuture.completedStage(ProxyResponse.of(status));
  }

  /** Answers the exchange itself with {@code response}; see {@link #respond(int, String)}. */
  default CompletionStage<ProxyResponse> respond(ProxyResponse response) {
    return CompletableFuture.completedStage(java.util.Objects.requireNonNull(response, "response"));
  }
}
