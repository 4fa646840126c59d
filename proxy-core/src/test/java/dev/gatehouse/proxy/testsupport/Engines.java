package dev.gatehouse.proxy.testsupport;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.internal.server.EngineRuntime;

/** For tests that look inside a built proxy: its engine. */
public final class Engines {
  private Engines() {}

  /** The engine behind {@code server}, a server built by {@code ProxyBuilder.buildServer}. */
  public static Engine of(ProxyServer server) {
    return ((EngineRuntime) server).engine();
  }
}
