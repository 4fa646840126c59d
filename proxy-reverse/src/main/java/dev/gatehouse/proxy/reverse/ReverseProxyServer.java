package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyServer;
import java.util.List;

/**
 * A built reverse proxy, whose routes can be replaced while it serves (as Traefik's file provider or
 * Envoy's route discovery do):
 *
 * <pre>{@code
 * ReverseProxyServer proxy = ReverseProxy.builder()
 *     .addRoute(Route.pathPrefix("/api").to(api))
 *     .build()
 *     .start();
 * ...
 * proxy.routes(List.of(Route.pathPrefix("/api").to(api), Route.pathPrefix("/v2").to(v2)));
 * }</pre>
 */
public interface ReverseProxyServer extends ProxyServer {

  @Override
  ReverseProxyServer start();

  /** The routes in use now, in matching order. */
  List<Route> routes();

  /**
   * Replaces the routes as a whole, in one atomic step, while the proxy runs (or before it starts):
   *
   * <ul>
   *   <li>each exchange is routed by either the old table or the new one, never a mix; exchanges in
   *       flight finish on the route and group they matched, retries included;
   *   <li>an {@link UpstreamGroup} that the new routes still use (the same object) keeps its
   *       connection pools, keep-alive connections, health-check and outlier state, and a {@link Route}
   *       kept as it was keeps its retry budget;
   *   <li>a group no longer used stops being health-checked, and once its requests in flight have
   *       finished (or after the proxy's {@code shutdownGracePeriod}) its connections are closed,
   *       unless another group still uses the same servers with the same settings;
   *   <li>new groups start their health checks at once.
   * </ul>
   *
   * The checks are those of {@code build()}; a rejected list leaves the routes as they were.
   *
   * @throws IllegalArgumentException if {@code routes} is empty
   * @throws IllegalStateException if a route repeats an earlier one's conditions, or the proxy is closed
   */
  void routes(List<Route> routes);
}
