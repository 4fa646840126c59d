package dev.gatehouse.proxy.reverse;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a group's {@link UpstreamGroup.Builder#onHealthChange} listener about state changes. The
 * components that change a server's state log the change themselves (logger {@code
 * dev.gatehouse.proxy.reverse.UpstreamGroup}) and then call {@link #fire}, outside the group's lock.
 */
final class HealthEvents {
  /** The logger every part of a group writes to, as documented on {@link UpstreamGroup}. */
  static final Logger LOG = LoggerFactory.getLogger(UpstreamGroup.class);

  private final String group;
  private final Consumer<HealthEvent> listener;
  /** The proxies' event listeners, added while a proxy routes to the group. */
  private final List<Consumer<HealthEvent>> observers = new CopyOnWriteArrayList<>();

  HealthEvents(String group, Consumer<HealthEvent> listener) {
    this.group = group;
    this.listener = listener;
  }

  String group() {
    return group;
  }

  void observe(Consumer<HealthEvent> observer) {
    observers.add(observer);
  }

  void unobserve(Consumer<HealthEvent> observer) {
    observers.remove(observer);
  }

  void fire(UpstreamServer s, ServerState from, ServerState to, String reason) {
    if (listener == null && observers.isEmpty()) {
      return;
    }
    HealthEvent event = new HealthEvent(group, s.key(), from, to, reason);
    if (listener != null) {
      try {
        listener.accept(event);
      } catch (RuntimeException e) {
        LOG.warn("upstream group {}: onHealthChange listener failed", group, e);
      }
    }
    for (Consumer<HealthEvent> o : observers) {
      try {
        o.accept(event);
      } catch (RuntimeException e) {
        LOG.warn("upstream group {}: a proxy's state-change observer failed", group, e);
      }
    }
  }
}
