package dev.gatehouse.proxy.examples;

import io.undertow.Undertow;
import io.undertow.util.Headers;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * What hostile or merely numerous clients cost the reverse proxy ({@link SoakProxies}, in a child JVM so
 * that its memory is its own): the resident memory and heap per idle keep-alive connection, measured by
 * holding {@code IDLE} (10 000) of them open after one request each, and the latency of normal traffic
 * while {@code SLOWLORIS} (2 000) connections dribble their request heads a byte at a time, against the
 * same traffic without them. Prints a table (appended to {@code PRESSURE_REPORT} when set) and exits 1
 * if the loaded p99 is more than twice the unloaded one.
 *
 * <pre>
 * java -cp proxy-examples/target/gatehouse-examples.jar dev.gatehouse.proxy.examples.ClientPressure
 * </pre>
 * Needs more open files than connections ({@code ulimit -n}); the proxy's {@code idleTimeout} (60 s) and
 * {@code requestHeaderTimeout} (30 s) bound how long the connections are kept, so each phase is shorter.
 */
public final class ClientPressure {
  private static final PrintStream out = System.out;

  private ClientPressure() {}

  public static void main(String[] args) throws Exception {
    int idle = Integer.parseInt(System.getenv().getOrDefault("IDLE", "10000"));
    int slowloris = Integer.parseInt(System.getenv().getOrDefault("SLOWLORIS", "2000"));
    byte[] body = new byte[1024];
    Undertow origin = Undertow.builder().setIoThreads(1).addHttpListener(0, "127.0.0.1")
        .setHandler(ex -> {
          ex.getResponseHeaders().put(Headers.CONTENT_LENGTH, body.length);
          ex.getResponseSender().send(java.nio.ByteBuffer.wrap(body));
        }).build();
    origin.start();
    int originPort = ((InetSocketAddress) origin.getListenerInfo().get(0).getAddress()).getPort();
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        // a fixed, touched heap: what RSS gains per connection is then the proxy's native memory alone
        "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "-cp", System.getProperty("java.class.path"),
        SoakProxies.class.getName(),
        "http://127.0.0.1:" + originPort).redirectError(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put("SOAK_CONNECT_PORT", "1");
    Process child = pb.start();
    BufferedReader childOut = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
    PrintStream childIn = new PrintStream(child.getOutputStream(), true, StandardCharsets.UTF_8);
    String ready = childOut.readLine();
    int port = Integer.parseInt(ready.split(" ")[1]);
    StringBuilder report = new StringBuilder();
    try {
      // warm the JIT, then the unloaded latency
      latency(port, 3);
      double[] calm = latency(port, 10);

      long[] before = sample(child, childIn, childOut);
      List<Socket> held = new ArrayList<>(idle);
      for (int i = 0; i < idle; i++) {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(10_000);
        s.getOutputStream().write("GET /1k HTTP/1.1\r\nHost: idle\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        readResponse(s.getInputStream());
        held.add(s);
      }
      long[] holding = sample(child, childIn, childOut);
      for (Socket s : held) {
        s.close();
      }
      held.clear();
      double rssPer = (holding[0] - before[0]) * 1024.0 / idle;
      double heapPer = (holding[1] - before[1]) * 1024.0 / idle;
      report.append(String.format(Locale.ROOT, "| %d idle keep-alive connections | RSS %d -> %d KiB | heap after GC %d -> %d KiB "
          + "| %.0f bytes RSS, %.0f bytes heap per connection | fds %d -> %d |%n", idle, before[0], holding[0], before[1],
          holding[1], rssPer, heapPer, before[2], holding[2]));

      // slowloris: heads dribbled a byte every 200 ms, while normal traffic is measured
      List<Socket> lorises = new ArrayList<>(slowloris);
      for (int i = 0; i < slowloris; i++) {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.getOutputStream().write("GET /1k HTTP/1.1\r\nHost: loris\r\nX-Slow: ".getBytes(StandardCharsets.ISO_8859_1));
        lorises.add(s);
      }
      Thread dribbler = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          for (Socket s : lorises) {
            try {
              s.getOutputStream().write('a');
            } catch (IOException ignored) {
              // the proxy cut it (requestHeaderTimeout): it stays cut
            }
          }
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
        }
      }, "slowloris");
      dribbler.setDaemon(true);
      dribbler.start();
      double[] loaded = latency(port, 10);
      dribbler.interrupt();
      long[] duringLoris = sample(child, childIn, childOut);
      for (Socket s : lorises) {
        s.close();
      }
      report.append(String.format(Locale.ROOT, "| normal traffic (8 keep-alive clients, 10 s) | alone: %.0f req/s, p50 %.2f ms, p99 %.2f ms "
          + "| with %d slowloris connections: %.0f req/s, p50 %.2f ms, p99 %.2f ms | p99 ratio %.2f (limit 2.0) | proxy RSS %d KiB |%n",
          calm[0], calm[1], calm[2], slowloris, loaded[0], loaded[1], loaded[2], loaded[2] / calm[2], duringLoris[0]));
      out.println();
      out.print("| what | measured | | | |\n|---|---|---|---|---|\n" + report);
      boolean pass = loaded[2] <= 2 * calm[2];
      out.println(pass ? "pressure: PASS" : "pressure: FAIL (p99 with slowloris over twice the p99 without)");
      String file = System.getenv("PRESSURE_REPORT");
      if (file != null && !file.isEmpty()) {
        Files.writeString(Path.of(file), report.toString(), StandardCharsets.UTF_8,
            java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
      }
      childIn.println("quit");
      child.waitFor(30, TimeUnit.SECONDS);
      origin.stop();
      System.exit(pass ? 0 : 1);
    } finally {
      child.destroy();
    }
  }

  /** RSS KiB, heap after GC KiB and open fds of the child. */
  private static long[] sample(Process child, PrintStream in, BufferedReader outOfChild) throws IOException {
    in.println("sample");
    String[] f = outOfChild.readLine().split(" ");
    long rss = 0;
    for (String line : Files.readAllLines(Path.of("/proc/" + child.pid() + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        rss = Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    long fds;
    try (var s = Files.list(Path.of("/proc/" + child.pid() + "/fd"))) {
      fds = s.count();
    }
    return new long[] {rss, Long.parseLong(f[1]) / 1024, fds};
  }

  /** req/s, p50 ms and p99 ms of 8 keep-alive clients for {@code seconds}. */
  private static double[] latency(int port, int seconds) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<long[]>> all = new ArrayList<>();
    for (int c = 0; c < 8; c++) {
      all.add(pool.submit(() -> {
        long[] lat = new long[1 << 20];
        int n = 0;
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
          s.setSoTimeout(10_000);
          OutputStream o = s.getOutputStream();
          InputStream in = s.getInputStream();
          while (System.nanoTime() < end && n < lat.length) {
            long t0 = System.nanoTime();
            o.write("GET /1k HTTP/1.1\r\nHost: calm\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            readResponse(in);
            lat[n++] = System.nanoTime() - t0;
          }
        }
        return Arrays.copyOf(lat, n);
      }));
    }
    List<long[]> parts = new ArrayList<>();
    long total = 0;
    for (Future<long[]> f : all) {
      long[] p = f.get();
      parts.add(p);
      total += p.length;
    }
    pool.shutdown();
    long[] merged = new long[(int) total];
    int at = 0;
    for (long[] p : parts) {
      System.arraycopy(p, 0, merged, at, p.length);
      at += p.length;
    }
    Arrays.sort(merged);
    double p50 = merged[merged.length / 2] / 1e6;
    double p99 = merged[(int) (merged.length * 0.99)] / 1e6;
    return new double[] {total / (double) seconds, p50, p99};
  }

  private static void readResponse(InputStream in) throws IOException {
    int length = 0;
    StringBuilder line = new StringBuilder();
    int b;
    boolean blank = false;
    while (!blank && (b = in.read()) >= 0) {
      if (b == '\n') {
        String l = line.toString().trim();
        if (l.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
          length = Integer.parseInt(l.substring(15).trim());
        }
        blank = l.isEmpty();
        line.setLength(0);
      } else {
        line.append((char) b);
      }
    }
    in.readNBytes(length);
  }
}
