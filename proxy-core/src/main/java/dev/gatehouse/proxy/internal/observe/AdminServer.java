package dev.gatehouse.proxy.internal.observe;

import dev.gatehouse.proxy.ProxyStartException;
import dev.gatehouse.proxy.ProxyStatus;
import dev.gatehouse.proxy.events.ProxyListener;
import dev.gatehouse.proxy.internal.server.Engine;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.DefaultByteBufferPool;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.XnioWorker;

/**
 * The admin listener: a second, small HTTP listener on its own port (loopback by default) that runs on
 * the proxy's I/O threads and answers {@code /healthz}, {@code /readyz}, {@code /status} and {@code
 * /metrics}. It starts after the proxy's listener is bound and stops after in-flight exchanges have
 * drained, so {@code /readyz} can say "not ready" for the whole drain.
 */
public final class AdminServer {
  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
  private static final String TEXT = "text/plain; charset=utf-8";
  private static final String INDEX = "Gatehouse admin\n"
      + "  /healthz  200 while the proxy's I/O threads answer\n"
      + "  /readyz   200 while the proxy takes traffic, 503 before start and from the moment close() begins\n"
      + "  /status   the proxy's status as JSON\n"
      + "  /metrics  the metrics in Prometheus text format\n";

  private final Engine engine;
  private final Telemetry telemetry;
  private final String host;
  private final int port;
  private volatile Undertow undertow;
  private DefaultByteBufferPool buffers;
  private volatile InetSocketAddress address;

  private AdminServer(Engine engine, String host, int port) {
    this.engine = engine;
    this.telemetry = engine.telemetry();
    this.host = host;
    this.port = port;
  }

  /** Adds an admin listener to a built proxy: it starts and stops with it. */
  public static AdminServer attach(Engine engine, String host, int port) {
    AdminServer admin = new AdminServer(engine, host, port);
    Telemetry t = engine.telemetry();
    t.admin(admin);
    // /status counts client connections, which the proxy tracks only while someone listens
    t.addListener(new ProxyListener() {
      @Override
      public String toString() {
        return "admin listener";
      }
    });
    engine.addStartHook(admin::start);
    engine.addCloseHook(admin::stop);
    return admin;
  }

  /** The bound address while running, else null. */
  public InetSocketAddress address() {
    return address;
  }

  private synchronized void start() {
    XnioWorker worker = engine.worker();
    buffers = new DefaultByteBufferPool(false, 4096, 16, 4);
    Undertow u = Undertow.builder()
        .setWorker(worker)
        .setByteBufferPool(buffers)
        .addHttpListener(port, host)
        .setServerOption(UndertowOptions.REQUEST_PARSE_TIMEOUT, 10_000)
        .setServerOption(UndertowOptions.NO_REQUEST_TIMEOUT, 60_000)
        .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, 0L)
        .setHandler(this::handle)
        .build();
    try {
      u.start();
    } catch (RuntimeException e) {
      try {
        u.stop();
      } catch (RuntimeException ignored) {
        // already failed
      }
      buffers.close();
      throw new ProxyStartException("failed to bind the admin listener " + host + ":" + port,
          e.getCause() != null ? e.getCause() : e);
    }
    undertow = u;
    address = (InetSocketAddress) u.getListenerInfo().get(0).getAddress();
    log.info("{} proxy admin listener on http://{}:{}", engine.config().kind(), address.getHostString(),
        address.getPort());
  }

  private synchronized void stop() {
    Undertow u = undertow;
    undertow = null;
    address = null;
    if (u != null) {
      u.stop();
      buffers.close();
    }
  }

  // ---------------------------------------------------------------- requests

  private void handle(HttpServerExchange x) {
    x.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-store");
    x.getResponseHeaders().put(Headers.X_CONTENT_TYPE_OPTIONS, "nosniff");
    boolean head = Methods.HEAD.equals(x.getRequestMethod());
    if (!head && !Methods.GET.equals(x.getRequestMethod())) {
      x.getResponseHeaders().put(Headers.ALLOW, "GET, HEAD");
      send(x, 405, TEXT, "Method Not Allowed\n");
      return;
    }
    switch (x.getRequestPath()) {
      case "/":
        send(x, 200, TEXT, INDEX);
        return;
      case "/healthz":
        send(x, 200, TEXT, "ok\n");
        return;
      case "/readyz":
        readiness(x);
        return;
      case "/status":
        send(x, 200, "application/json", StatusJson.of(telemetry.status()) + "\n");
        return;
      case "/metrics":
        // formatting every meter takes a moment: off the I/O thread
        x.dispatch(() -> metrics(x));
        return;
      default:
        send(x, 404, TEXT, "Not Found (see /)\n");
    }
  }

  private void readiness(HttpServerExchange x) {
    ProxyStatus.State state = telemetry.state();
    switch (state) {
      case READY:
        send(x, 200, TEXT, "ready\n");
        return;
      case DRAINING:
        send(x, 503, TEXT, "not ready: draining (close() has begun)\n");
        return;
      default:
        send(x, 503, TEXT, "not ready: " + state.name().toLowerCase(java.util.Locale.ROOT) + "\n");
    }
  }

  private void metrics(HttpServerExchange x) {
    Object registry = telemetry.meterRegistry();
    if (registry == null) {
      send(x, 404, TEXT, "metrics are off: build the proxy with metrics(new PrometheusMeterRegistry("
          + "PrometheusConfig.DEFAULT)) (" + PrometheusScrape.ARTIFACT + ")\n");
      return;
    }
    if (!PrometheusScrape.available()) {
      send(x, 404, TEXT, "Prometheus text needs " + PrometheusScrape.ARTIFACT + " on the class path\n");
      return;
    }
    String text;
    try {
      telemetry.refreshMetrics();
      text = PrometheusScrape.scrape(registry);
    } catch (RuntimeException e) {
      log.warn("admin: /metrics failed", e);
      send(x, 500, TEXT, "Internal Server Error\n");
      return;
    }
    if (text == null) {
      send(x, 404, TEXT, "the metrics registry is a " + registry.getClass().getSimpleName()
          + ", not a PrometheusMeterRegistry: /metrics serves Prometheus text only\n");
      return;
    }
    send(x, 200, "text/plain; version=0.0.4; charset=utf-8", text);
  }

  private static void send(HttpServerExchange x, int status, String contentType, String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    x.setStatusCode(status);
    x.getResponseHeaders().put(Headers.CONTENT_TYPE, contentType);
    x.getResponseHeaders().put(Headers.CONTENT_LENGTH, bytes.length);
    if (Methods.HEAD.equals(x.getRequestMethod())) {
      x.endExchange();
    } else {
      x.getResponseSender().send(ByteBuffer.wrap(bytes));
    }
  }

  @Override
  public String toString() {
    return "AdminServer(" + host + ":" + port + ")";
  }
}
