package dev.gatehouse.proxy.reverse;

import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.internal.server.Engine;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** The running reverse proxy: the engine, plus its replaceable route table. */
final class ReverseServer implements ReverseProxyServer {
  private final Engine engine;
  private final RouteTable table;

  ReverseServer(Engine engine, RouteTable table) {
    this.engine = engine;
    this.table = table;
  }

  /** The engine (for tests and the modules' own wiring). */
  Engine engine() {
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
