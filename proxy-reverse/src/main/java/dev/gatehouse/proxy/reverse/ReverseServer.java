package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.spi.ProxyRuntime;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** The running reverse proxy: the engine (as the module sees it), plus its replaceable route table. */
final class ReverseServer implements ReverseProxyServer {
  private final ProxyRuntime engine;
  private final RouteTable table;

  ReverseServer(ProxyRuntime engine, RouteTable table) {
    this.engine = engine;
    this.table = table;
  }

  /** The engine as the module sees it (for tests). */
  ProxyRuntime runtime() {
    return engine;
  }

  @Override
  public ReverseProxyServer start() {
    engine.start();
    return this;
  }

  @Override
  public int port() {
    return engine.port();
  }

  @Override
  public InetSocketAddress address() {
    return engine.address();
  }

  @Override
  public boolean isRunning() {
    return engine.isRunning();
  }

  @Override
  public ProxyStatus status() {
    return engine.status();
  }

  @Override
  public Optional<InetSocketAddress> adminAddress() {
    return engine.adminAddress();
  }

  @Override
  public List<Route> routes() {
    return table.routes();
  }

  @Override
  public void routes(List<Route> routes) {
    Objects.requireNonNull(routes, "routes");
    for (Route r : routes) {
      Objects.requireNonNull(r, "route");
    }
    table.replace(List.copyOf(routes));
  }

  @Override
  public void close() {
    engine.close();
  }

  @Override
  public String toString() {
    return "ReverseProxyServer(" + (engine.isRunning() ? engine.address() : "not running") + ")";
  }
}
