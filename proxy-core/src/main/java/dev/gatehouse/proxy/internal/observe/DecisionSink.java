package dev.gatehouse.proxy.internal.observe;

/**
 * An exchange that takes {@link dev.gatehouse.proxy.events.Decisions#report} decisions itself (the
 * in-memory filter harness records them; the engine's exchanges go through {@link Telemetry}).
 */
public interface DecisionSink {

  /** Records one decision; arguments are already checked. */
  void decision(String kind, String outcome, String detail);
}
