package dev.gatehouse.proxy.reverse;

/**
 * Entry point of the reverse proxy: a proxy that acts for servers, routing each request to an upstream
 * group.
 *
 * <pre>{@code
 * ProxyServer proxy = ReverseProxy.builder()
 *     .port(8080)
 *     .addRoute(Route.pathPrefix("/api").to(UpstreamGroup.of("http://localhost:8081")))
 *     .build()
 *     .start();
 * }</pre>
 */
public final class ReverseProxy {
  private ReverseProxy() {}

  /** A new builder with the reverse proxy's defaults. */
  public static ReverseProxyBuilder builder() {
    return new ReverseProxyBuilder();
  }
}
