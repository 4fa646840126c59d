package dev.gatehouse.proxy.testsupport;

import dev.gatehouse.proxy.ProxyBuilder;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.spi.Endpoint;
import java.net.URI;
import java.util.concurrent.CompletableFuture;

/** A minimal proxy for core tests: everything goes to one upstream. */
public final class TestProxy extends ProxyBuilder<TestProxy> {
  private String upstream;

  private TestProxy() {}

  public static TestProxy builder() {
    return new TestProxy();
  }

  /** Starts a proxy to {@code upstreamUrl} with the given tweaks. */
  public static ProxyServer to(String upstreamUrl) {
    return builder().upstream(upstreamUrl).build().start();
  }

  public TestProxy upstream(String url) {
    this.upstream = url;
    return this;
  }

  @Override
  public ProxyServer build() {
    Endpoint endpoint = upstream == null ? null : Endpoint.of(URI.create(upstream));
    return buildServer(exchange -> endpoint == null
        ? CompletableFuture.failedFuture(new IllegalStateException("no upstream"))
        : exchange.forwardTo(endpoint), "test");
  }
}
