package dev.gatehouse.proxy.reverse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.internal.server.Engine;
import dev.gatehouse.proxy.testsupport.Engines;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client that stops reading must not hold the upstream connection longer than the response buffer
 * allows, and read-ahead memory stays within the per-exchange and proxy-wide bounds.
 */
@Timeout(60)
class SlowClientTest {
  static Backends backends;
  static final int MIB = 1024 * 1024;

  @BeforeAll
  static void start() {
    backends = Backends.start(1);
    backends.get(0).stubFor(get(urlEqualTo("/2m")).atPriority(1).willReturn(aResponse().withHeader("Content-Length", Integer.toString(2 * MIB)).withBody(new byte[2 * MIB])));
    backends.get(0).stubFor(get(urlEqualTo("/16m")).atPriority(1).willReturn(aResponse().withHeader("Content-Length", Integer.toString(16 * MIB)).withBody(new byte[16 * MIB])));
    backends.get(0).stubFor(get(urlEqualTo("/12m")).atPriority(1).willReturn(aResponse().withHeader("Content-Length", Integer.toString(12 * MIB)).withBody(new byte[12 * MIB])));
  }

  @AfterAll
  static void stop() {
    backends.close();
  }

  /** A client with a tiny receive window that sends a request and reads only the head. */
  static final class StalledClient implements AutoCloseable {
    final Socket socket = new Socket();
    final InputStream in;

    StalledClient(int port, String path) throws Exception {
      socket.setReceiveBufferSize(4096);
      socket.connect(new InetSocketAddress("127.0.0.1", port));
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      in = socket.getInputStream();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        head.append((char) in.read());
      }
      assertThat(head.toString()).startsWith("HTTP/1.1 200");
    }

    /** Reads the rest of a body of {@code expected} bytes. */
    long drain(long expected) throws Exception {
      byte[] buf = new byte[64 * 1024];
      long total = 0;
      while (total < expected) {
        int n = in.read(buf);
        if (n < 0) {
          break;
        }
        total += n;
      }
      return total;
    }

    @Override
    public void close() throws Exception {
      socket.close();
    }
  }

  static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.onSpinWait();
    }
  }

  static UpstreamGroup oneConnection() {
    return UpstreamGroup.builder().add(backends.url(0)).maxConnectionsPerServer(1).maxPendingRequestsPerServer(0).build();
  }

  @Test
  void aFastUpstreamIsReleasedWhileASlowClientHasNotReadTheBody() throws Exception {
    UpstreamGroup g = oneConnection();
    // one I/O thread: the idle connection is on the thread that serves the next request
    try (ProxyServer proxy = ReverseProxy.builder().ioThreads(1).responseBufferSize(8 * MIB).addRoute(Route.any().to(g))
        .build().start();
        StalledClient slow = new StalledClient(proxy.port(), "/2m")) {
      await("the upstream response was read completely", () -> g.status().get(0).activeRequests() == 0);
      // the only upstream connection is free again: another client is served at once (no queueing allowed)
      assertThat(Backends.get(proxy.port(), "/other").statusCode()).isEqualTo(200);
      assertThat(slow.drain(2 * MIB)).isEqualTo(2 * MIB);
    }
  }

  @Test
  void aBodyLargerThanTheBufferHoldsTheUpstreamOnlyUntilTheClientReadsAndMemoryStaysBounded() throws Exception {
    UpstreamGroup g = oneConnection();
    try (ProxyServer proxy = ReverseProxy.builder().responseBufferSize(MIB).addRoute(Route.any().to(g)).build().start();
        StalledClient slow = new StalledClient(proxy.port(), "/16m")) {
      Engine engine = Engines.of(((ReverseServer) proxy).runtime());
      await("the read-ahead buffer is full", () -> engine.bufferBudget().used() >= MIB - 64 * 1024);
      assertThat(engine.bufferBudget().used()).isLessThanOrEqualTo(MIB);
      assertThat(g.status().get(0).activeRequests()).isEqualTo(1);
      assertThat(Backends.get(proxy.port(), "/other").statusCode()).as("the connection is still busy").isEqualTo(503);
      assertThat(slow.drain(16 * MIB)).isEqualTo(16 * MIB);
      await("the upstream is released", () -> g.status().get(0).activeRequests() == 0);
      assertThat(engine.bufferBudget().used()).isZero();
    }
  }

  @Test
  void readAheadMemoryAcrossExchangesStaysWithinTheProxyWideLimit() throws Exception {
    long limit = 2L * MIB;
    UpstreamGroup g = UpstreamGroup.builder().add(backends.url(0)).build();
    try (ProxyServer proxy = ReverseProxy.builder().responseBufferSize(8 * MIB).responseBufferMemoryLimit(limit)
        .addRoute(Route.any().to(g)).build().start()) {
      Engine engine = Engines.of(((ReverseServer) proxy).runtime());
      List<StalledClient> clients = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          clients.add(new StalledClient(proxy.port(), "/12m"));
        }
        await("the proxy-wide read-ahead is spent", () -> engine.bufferBudget().used() >= limit - 64 * 1024);
        long peak = 0;
        for (int i = 0; i < 1000; i++) {
          peak = Math.max(peak, engine.bufferBudget().used());
        }
        assertThat(peak).isLessThanOrEqualTo(limit);
        assertThat(g.status().get(0).activeRequests()).as("12 MiB each cannot all be buffered").isEqualTo(3);
        for (StalledClient c : clients) {
          assertThat(c.drain(12 * MIB)).isEqualTo(12 * MIB);
        }
        await("all upstreams released", () -> g.status().get(0).activeRequests() == 0);
      } finally {
        for (StalledClient c : clients) {
          c.close();
        }
      }
    }
  }
}
