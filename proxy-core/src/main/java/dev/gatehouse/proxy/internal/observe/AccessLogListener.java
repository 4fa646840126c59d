package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.events.ExchangeInfo;
import dev.gatehouse.proxy.events.ProxyListener;
import dev.gatehouse.proxy.internal.log.AccessLogWriter;

/** The access log as a listener: one line per ended exchange (a tunnel's when it closes). */
public final class AccessLogListener implements ProxyListener {
  private final AccessLogWriter writer;

  public AccessLogListener(AccessLogWriter writer) {
    this.writer = writer;
  }

  @Override
  public void exchangeEnded(ExchangeInfo exchange) {
    writer.record(((ObservedExchange) exchange).exchange());
  }

  @Override
  public String toString() {
    return "access log";
  }
}
