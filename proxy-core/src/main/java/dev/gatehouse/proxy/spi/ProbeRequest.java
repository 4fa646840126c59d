package dev.gatehouse.proxy.spi;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One active health check of a server: {@link ProxyRuntime#probe}.
 *
 * @param endpoint the server
 * @param pool the pool settings of its group: TLS, and whether it speaks HTTP/2
 * @param method the request method, e.g. {@code GET}
 * @param pathAndQuery the request target, e.g. {@code /health}
 * @param host the {@code Host} field, or null for the endpoint's authority
 * @param timeout the most the whole check may take
 */
public record ProbeRequest(Endpoint endpoint, PoolSettings pool, String method, String pathAndQuery,
    @Nullable String host, Duration timeout) {

  /** A check; all but {@code host} are required. */
  public ProbeRequest {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(pathAndQuery, "pathAndQuery");
    Objects.requireNonNull(timeout, "timeout");
  }
}
