package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.reverse.HealthCheck;
import dev.gatehouse.proxy.reverse.LoadBalancing;
import dev.gatehouse.proxy.reverse.OutlierDetection;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.Route;
import dev.gatehouse.proxy.reverse.UpstreamGroup;
import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.xnio.IoUtils;

/**
 * Fault injection under load: a reverse proxy in front of a group of three origins (health checks every
 * second, default outlier detection, default retries) carries a steady keep-alive load while, phase by
 * phase, one origin is killed and brought back, one is made slow, one answers garbage or resets
 * mid-body, and a fourth server whose name does not resolve joins the group. Every client outcome of
 * every phase is counted and printed as a table (and appended to {@code FAULTS_REPORT} when set).
 *
 * <p>What each phase must show: <b>kill</b>: no client failure (requests that never reached the dead
 * server go elsewhere; only requests in flight on it may fail); <b>restart</b>: the server gets
 * requests again within the health interval; <b>slow</b>: the balancer (least connections) routes around
 * it and no client waits past the read timeout; <b>garbage</b>: the others are unaffected and a client
 * sees a 502 or a retried success, never garbage; <b>reset mid-body</b>: a visibly truncated response
 * (fewer bytes than its {@code Content-Length}) or a retried success, never a complete-looking wrong
 * one; <b>DNS failure</b>: no client failure. It exits 1 when a phase breaks its rule.
 *
 * <pre>
 * java -cp proxy-examples/target/gatehouse-examples.jar dev.gatehouse.proxy.examples.FaultInjection [seconds per phase]
 * </pre>
 */
public final class FaultInjection {
  enum Mode { NORMAL, SLOW, GARBAGE, RESET }

  /** One origin: a switchable behaviour, on a port kept across restarts. */
  static final class Origin {
    final String name;
    final int port;
    volatile Mode mode = Mode.NORMAL;
    final LongAdder served = new LongAdder();
    volatile Undertow server;
    volatile ServerSocket garbage;

    Origin(String name, int port) {
      this.name = name;
      this.port = port;
    }

    void start() {
      server = Undertow.builder().setIoThreads(1).setWorkerThreads(16).addHttpListener(port, "127.0.0.1")
          .setHandler(new HttpHandler() {
            @Override
            public void handleRequest(HttpServerExchange ex) throws Exception {
              if (ex.getRequestPath().equals("/health")) {
                ex.getResponseSender().send("ok");
                return;
              }
              if (ex.isInIoThread()) {
                ex.dispatch(this);
                return;
              }
              served.increment();
              ex.startBlocking();
              Mode m = mode;
              if (m == Mode.SLOW) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(400));
              }
              ex.getResponseHeaders().put(Headers.CONTENT_LENGTH, BODY.length);
              ex.getResponseHeaders().put(new io.undertow.util.HttpString("X-Server"), name);
              OutputStream o = ex.getOutputStream();
              if (m == Mode.GARBAGE) {
                // not HTTP at all: raw bytes no parser accepts, then the close
                org.xnio.StreamConnection raw =
                    ((io.undertow.server.protocol.http.HttpServerConnection) ex.getConnection()).getChannel();
                org.xnio.channels.Channels.writeBlocking(raw.getSinkChannel(),
                    java.nio.ByteBuffer.wrap("HTTP/9.9 OK?\r\nno: head\r\n\r\ngarbage".getBytes(StandardCharsets.ISO_8859_1)));
                org.xnio.channels.Channels.flushBlocking(raw.getSinkChannel());
                IoUtils.safeClose(ex.getConnection());
                return;
              }
              if (m == Mode.RESET) {
                o.write(BODY, 0, BODY.length / 2);
                o.flush();
                IoUtils.safeClose(ex.getConnection());
                return;
              }
              o.write(BODY);
              o.close();
            }
          }).build();
      server.start();
    }

    void kill() {
      server.stop();
    }
  }

  static final byte[] BODY = new byte[8192];

  static {
    for (int i = 0; i < BODY.length; i++) {
      BODY[i] = (byte) ('a' + i % 26);
    }
  }

  /** Outcomes of one phase. */
  static final class Phase {
    final String name;
    final LongAdder ok = new LongAdder();
    final LongAdder status5xx = new LongAdder();
    final LongAdder truncated = new LongAdder();
    final LongAdder wrong = new LongAdder();
    final LongAdder errors = new LongAdder();
    final AtomicLong maxMillis = new AtomicLong();
    final Map<String, LongAdder> byServer = new ConcurrentHashMap<>();
    String verdict = "";
    boolean pass = true;

    Phase(String name) {
      this.name = name;
    }

    long total() {
      return ok.sum() + status5xx.sum() + truncated.sum() + wrong.sum() + errors.sum();
    }
  }

  private static volatile Phase current;

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 8;
    int[] ports = freePorts(3);
    List<Origin> origins = List.of(new Origin("a", ports[0]), new Origin("b", ports[1]), new Origin("c", ports[2]));
    for (Origin o : origins) {
      o.start();
    }
    UpstreamGroup group = UpstreamGroup.builder().name("origins")
        .add("http://127.0.0.1:" + ports[0]).add("http://127.0.0.1:" + ports[1]).add("http://127.0.0.1:" + ports[2])
        .loadBalancing(LoadBalancing.leastConnections())
        .healthCheck(HealthCheck.http("/health").interval(Duration.ofSeconds(1)).timeout(Duration.ofMillis(500)).build())
        .outlierDetection(OutlierDetection.builder().build())
        .build();
    ProxyServer proxy = ReverseProxy.builder().readTimeout(Duration.ofSeconds(2))
        .addRoute(Route.any().to(group)).build().start();
    int clients = Integer.getInteger("faults.clients", 16);
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<Phase> phases = new ArrayList<>();
    List<Future<?>> load = new ArrayList<>();
    current = new Phase("warm-up");
    for (int i = 0; i < clients; i++) {
      load.add(pool.submit(() -> client(proxy.port())));
    }
    phases.add(run(seconds, "baseline", () -> { }));
    Phase kill = run(seconds, "kill a (listener closed, connections reset)", () -> origins.get(0).kill());
    phases.add(kill);
    long beforeRestart = origins.get(0).served.sum();
    Phase restart = run(seconds, "restart a", () -> origins.get(0).start());
    phases.add(restart);
    long rejoined = origins.get(0).served.sum() - beforeRestart;
    Phase slow = run(seconds, "b slow (+400 ms per response)", () -> origins.get(1).mode = Mode.SLOW);
    phases.add(slow);
    origins.get(1).mode = Mode.NORMAL;
    Phase garbage = run(seconds, "c answers garbage", () -> origins.get(2).mode = Mode.GARBAGE);
    phases.add(garbage);
    Phase reset = run(seconds, "c resets mid-body", () -> origins.get(2).mode = Mode.RESET);
    phases.add(reset);
    origins.get(2).mode = Mode.NORMAL;
    Phase dns = run(seconds, "a fourth server whose name does not resolve", () ->
        group.addServer("http://no-such-upstream.invalid:8080"));
    phases.add(dns);
    current = null;
    for (Future<?> f : load) {
      f.get(30, TimeUnit.SECONDS);
    }
    pool.shutdown();
    proxy.close();
    for (Origin o : origins) {
      o.kill();
    }

    judge(kill, kill.status5xx.sum() + kill.errors.sum() + kill.truncated.sum() <= clients,
        "at most the requests in flight on a may fail");
    restart.pass = rejoined > 0 && restart.wrong.sum() == 0;
    restart.verdict = "a served " + rejoined + " requests after its restart";
    judge(slow, slow.maxMillis.get() < 2_500 && slow.wrong.sum() == 0 && slow.status5xx.sum() == 0,
        "no client waited past the read timeout");
    judge(garbage, garbage.wrong.sum() == 0 && garbage.truncated.sum() == 0, "502 or a retried success, never garbage");
    judge(reset, reset.wrong.sum() == 0, "truncated or retried, never complete-looking");
    judge(dns, dns.total() - dns.ok.sum() == 0, "no client failure");
    judge(phases.get(0), phases.get(0).total() == phases.get(0).ok.sum(), "all ok");

    StringBuilder t = new StringBuilder(String.format(Locale.ROOT,
        "| phase (%d s, %d keep-alive clients) | requests | ok | 5xx | truncated | wrong body | errors | max ms | served by a/b/c | verdict |%n"
            + "|---|---|---|---|---|---|---|---|---|---|%n", seconds, clients));
    boolean pass = true;
    for (Phase p : phases) {
      pass &= p.pass;
      t.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %d | %d | %d | %d | %d/%d/%d | %s%s |%n", p.name, p.total(),
          p.ok.sum(), p.status5xx.sum(), p.truncated.sum(), p.wrong.sum(), p.errors.sum(), p.maxMillis.get(),
          count(p, "a"), count(p, "b"), count(p, "c"), p.pass ? "pass: " : "FAIL: ", p.verdict));
    }
    System.out.println();
    System.out.print(t);
    System.out.println(pass ? "faults: PASS" : "faults: FAIL");
    String file = System.getenv("FAULTS_REPORT");
    if (file != null && !file.isEmpty()) {
      Files.writeString(Path.of(file), t.toString(), StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }
    System.exit(pass ? 0 : 1);
  }

  private static long count(Phase p, String server) {
    LongAdder a = p.byServer.get(server);
    return a == null ? 0 : a.sum();
  }

  private static void judge(Phase p, boolean ok, String rule) {
    p.pass = ok;
    p.verdict = rule;
  }

  private static Phase run(int seconds, String name, Runnable fault) {
    Phase p = new Phase(name);
    current = p;
    fault.run();
    LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(seconds));
    return p;
  }

  /** One keep-alive client: GETs on one connection, reconnecting after a failure, each outcome counted. */
  private static void client(int port) {
    while (current != null) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        s.setSoTimeout(10_000);
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        Phase p;
        while ((p = current) != null) {
          long start = System.nanoTime();
          out.write("GET /bytes HTTP/1.1\r\nHost: faults\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
          boolean keep = exchange(in, p);
          p.maxMillis.accumulateAndGet((System.nanoTime() - start) / 1_000_000, Math::max);
          if (!keep) {
            break;
          }
        }
      } catch (IOException e) {
        Phase p = current;
        if (p != null) {
          p.errors.increment();
        }
      }
    }
  }

  /** Reads one response; false when the connection cannot carry another. */
  private static boolean exchange(InputStream in, Phase p) throws IOException {
    String status = line(in);
    if (status == null) {
      p.errors.increment();
      return false;
    }
    long length = -1;
    String server = null;
    boolean close = false;
    String h;
    while ((h = line(in)) != null && !h.isEmpty()) {
      String lower = h.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Long.parseLong(h.substring(15).trim());
      } else if (lower.startsWith("x-server:")) {
        server = h.substring(9).trim();
      } else if (lower.startsWith("connection:") && lower.contains("close")) {
        close = true;
      }
    }
    byte[] body = length < 0 ? in.readAllBytes() : in.readNBytes((int) length);
    if (status.startsWith("HTTP/1.1 5")) {
      p.status5xx.increment();
      return !close;
    }
    if (length >= 0 && body.length < length) {
      p.truncated.increment(); // visibly cut: the connection closed before Content-Length bytes
      return false;
    }
    if (status.startsWith("HTTP/1.1 200") && java.util.Arrays.equals(body, BODY)) {
      p.ok.increment();
      if (server != null) {
        p.byServer.computeIfAbsent(server, k -> new LongAdder()).increment();
      }
    } else {
      p.wrong.increment();
    }
    return !close;
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        int n = sb.length();
        return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
      }
      sb.append((char) b);
    }
    return sb.length() == 0 ? null : sb.toString();
  }

  private static int[] freePorts(int n) throws IOException {
    int[] ports = new int[n];
    List<ServerSocket> held = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
      held.add(s);
      ports[i] = s.getLocalPort();
    }
    for (ServerSocket s : held) {
      s.close();
    }
    return ports;
  }
}
