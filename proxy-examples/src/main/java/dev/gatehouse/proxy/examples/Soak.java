package dev.gatehouse.proxy.examples;

import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.websockets.core.AbstractReceiveListener;
import io.undertow.websockets.core.BufferedTextMessage;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.xnio.IoUtils;

/**
 * A soak run: the reverse and forward proxies ({@link SoakProxies}, in a child JVM) under a steady mixed
 * load for a while, with faults on purpose, sampling the child's resident memory, heap after GC, open
 * file descriptors and threads. It fails (exit 1) if any of those keeps growing (a least-squares slope
 * over the run after a warm-up, not one threshold) or if any request failed that the faults do not
 * explain. Resident memory is judged only over at least {@value #RSS_WINDOW_SECONDS} seconds after the
 * warm-up: it grows in steps of megabytes for the JIT's code cache and the allocator's arenas for
 * tens of seconds, so a shorter window measures the warm-up, not a leak; a short run still judges the
 * heap after GC, the descriptors and the threads.
 *
 * <p>The mix, each kind counted on its own: keep-alive GETs and POST echoes with bodies from 1 KiB to
 * 1 MiB both ways; GETs on new connections; clients that abort mid-body (upload and download); slow
 * readers; an origin that resets mid-body (the client must see a 502 or a visibly truncated body, never
 * a complete-looking one); WebSocket echoes; {@code CONNECT} tunnels echoing 64 KiB. After a calibration
 * burst it paces the load at {@code SOAK_LOAD} (default 0.5) of the rate the burst reached.
 *
 * <pre>
 * java -cp proxy-examples/target/gatehouse-examples.jar dev.gatehouse.proxy.examples.Soak [seconds]
 * </pre>
 * The default is 600 s; {@code .ci/run} runs 60 s. {@code SOAK_REPORT=file} appends the result table.
 *
 * <p>(One file, so that it runs with {@code java -cp} from the examples jar; each kind of load is a small
 * part of it.)
 */
public final class Soak {
  private static final PrintStream out = System.out;
  /** The shortest window after the warm-up over which resident memory is judged (.ci/run's 60 s run has 28). */
  static final int RSS_WINDOW_SECONDS = 25;

  private final int durationSeconds;
  private final Map<String, Counts> counts = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<String> unexplained = new ConcurrentLinkedQueue<>();
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private int reversePort;
  private int forwardPort;
  private int echoPort;
  private volatile long paceNanos;
  private final AtomicLong nextSlot = new AtomicLong();
  /** Workers start nothing new while a sample is taken. */
  private volatile boolean quiet;
  private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();

  private Soak(int durationSeconds) {
    this.durationSeconds = durationSeconds;
  }

  /** Outcomes of one kind of request. */
  static final class Counts {
    final LongAdder ok = new LongAdder();
    final LongAdder expectedFault = new LongAdder();
    final LongAdder unexplained = new LongAdder();
  }

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 600;
    System.exit(new Soak(seconds).run() ? 0 : 1);
  }

  // ---------------------------------------------------------------- the origins

  /** Byte {@code i} of every generated body. */
  static byte pattern(long i) {
    return (byte) (i * 31 + 7);
  }

  private static final HttpHandler ORIGIN = new HttpHandler() {
    @Override
    public void handleRequest(HttpServerExchange ex) throws Exception {
      String path = ex.getRequestPath();
      if (path.equals("/health")) {
        ex.getResponseSender().send("ok");
        return;
      }
      if (ex.isInIoThread()) {
        ex.dispatch(this);
        return;
      }
      ex.startBlocking();
      if (path.equals("/bytes")) {
        int n = Integer.parseInt(ex.getQueryParameters().get("n").getFirst());
        ex.getResponseHeaders().put(Headers.CONTENT_LENGTH, n);
        writePattern(ex.getOutputStream(), n, true);
      } else if (path.equals("/echo")) {
        try (InputStream in = ex.getInputStream(); OutputStream o = ex.getOutputStream()) {
          in.transferTo(o);
        }
      } else if (path.equals("/reset")) {
        ex.getResponseHeaders().put(Headers.CONTENT_LENGTH, 200_000);
        OutputStream o = ex.getOutputStream();
        writePattern(o, 50_000, false);
        o.flush();
        IoUtils.safeClose(ex.getConnection());
      } else {
        ex.setStatusCode(404);
      }
    }
  };

  private static void writePattern(OutputStream o, int n, boolean close) throws IOException {
    byte[] buf = new byte[16 * 1024];
    for (int at = 0; at < n; ) {
      int k = Math.min(buf.length, n - at);
      for (int i = 0; i < k; i++) {
        buf[i] = pattern(at + i);
      }
      o.write(buf, 0, k);
      at += k;
    }
    if (close) {
      o.close();
    }
  }

  private static Undertow origin() {
    Undertow u = Undertow.builder().setIoThreads(1).setWorkerThreads(32)
        .addHttpListener(0, "127.0.0.1")
        .setHandler(Handlers.path(ORIGIN).addPrefixPath("/ws", Handlers.websocket((exchange, channel) -> {
          channel.getReceiveSetter().set(new AbstractReceiveListener() {
            @Override
            protected void onFullTextMessage(WebSocketChannel ch, BufferedTextMessage message) {
              WebSockets.sendText(message.getData(), ch, null);
            }
          });
          channel.resumeReceives();
        }))).build();
    u.start();
    return u;
  }

  private static int port(Undertow u) {
    return ((InetSocketAddress) u.getListenerInfo().get(0).getAddress()).getPort();
  }

  /** A TCP echo server, the CONNECT target. */
  private static ServerSocket echoServer(ExecutorService threads) throws IOException {
    ServerSocket ss = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
    threads.execute(() -> {
      while (!ss.isClosed()) {
        try {
          Socket s = ss.accept();
          threads.execute(() -> {
            try (Socket c = s) {
              c.getInputStream().transferTo(c.getOutputStream());
            } catch (IOException ignored) {
              // the tunnel went away
            }
          });
        } catch (IOException e) {
          return;
        }
      }
    });
    return ss;
  }

  // ---------------------------------------------------------------- the run

  private boolean run() throws Exception {
    ExecutorService threads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "soak");
      t.setDaemon(true);
      return t;
    });
    List<Undertow> origins = List.of(origin(), origin(), origin());
    ServerSocket echo = echoServer(threads);
    echoPort = echo.getLocalPort();
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), SoakProxies.class.getName()));
    for (Undertow o : origins) {
      command.add("http://127.0.0.1:" + port(o));
    }
    ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
    pb.environment().put("SOAK_CONNECT_PORT", Integer.toString(echoPort));
    Process child = pb.start();
    BufferedReader childOut = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
    PrintStream childIn = new PrintStream(child.getOutputStream(), true, StandardCharsets.UTF_8);
    String ready = childOut.readLine();
    if (ready == null || !ready.startsWith("READY ")) {
      out.println("soak: the proxies did not start: " + ready);
      return false;
    }
    String[] p = ready.split(" ");
    reversePort = Integer.parseInt(p[1]);
    forwardPort = Integer.parseInt(p[2]);
    int workers = Integer.getInteger("soak.workers", 16);
    out.printf(Locale.ROOT, "soak: %d s, %d workers, proxies in pid %d (reverse :%d, forward :%d)%n", durationSeconds,
        workers, child.pid(), reversePort, forwardPort);

    // calibration: unpaced, then pace at SOAK_LOAD of what it reached
    long calibrate = Math.max(3, Math.min(10, durationSeconds / 10));
    long n0 = total();
    load(threads, workers, System.nanoTime() + TimeUnit.SECONDS.toNanos(calibrate));
    double capacity = (total() - n0) / (double) calibrate;
    double share = Double.parseDouble(System.getenv().getOrDefault("SOAK_LOAD", "0.5"));
    double rate = Math.max(1, capacity * share);
    paceNanos = (long) (1e9 / rate);
    out.printf(Locale.ROOT, "soak: calibration reached %.0f req/s; pacing at %.0f req/s%n", capacity, rate);
    counts.clear();

    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(durationSeconds);
    nextSlot.set(System.nanoTime());
    CompletableFuture<Void> running = CompletableFuture.runAsync(() -> load(threads, workers, end), threads);
    List<long[]> samples = new ArrayList<>();
    long start = System.nanoTime();
    long every = TimeUnit.SECONDS.toNanos(Math.max(2, Math.min(10, durationSeconds / 15)));
    while (System.nanoTime() < end) {
      LockSupport.parkNanos(every);
      // a sample is taken with no request in flight, so the counts show what stays, not what passes
      quiet = true;
      long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
      while (inFlight.get() > 0 && System.nanoTime() - settle < 0) {
        LockSupport.parkNanos(1_000_000);
      }
      LockSupport.parkNanos(100_000_000); // closed connections leave the proxy's descriptor table
      childIn.println("sample");
      String s = childOut.readLine();
      if (s == null || !s.startsWith("SAMPLE ")) {
        out.println("soak: the proxies stopped answering: " + s);
        return false;
      }
      String[] f = s.split(" ");
      long[] sample = {(System.nanoTime() - start) / 1_000_000, rssKiB(child.pid()), Long.parseLong(f[1]) / 1024,
          fds(child.pid()), Long.parseLong(f[2])};
      samples.add(sample);
      quiet = false;
      nextSlot.set(System.nanoTime());
      out.printf(Locale.ROOT, "soak: t=%5.1fs rss=%d KiB heap-after-gc=%d KiB fds=%d threads=%d requests=%d%n",
          sample[0] / 1000.0, sample[1], sample[2], sample[3], sample[4], total());
    }
    running.get(60, TimeUnit.SECONDS);
    childIn.println("quit");
    boolean closed = child.waitFor(30, TimeUnit.SECONDS);
    for (Undertow o : origins) {
      o.stop();
    }
    echo.close();
    threads.shutdownNow();

    StringBuilder report = new StringBuilder();
    report.append(String.format(Locale.ROOT, "| kind | ok | failed as the fault intends | unexplained |%n|---|---|---|---|%n"));
    long bad = 0;
    for (Map.Entry<String, Counts> e : new java.util.TreeMap<>(counts).entrySet()) {
      Counts c = e.getValue();
      bad += c.unexplained.sum();
      report.append(String.format(Locale.ROOT, "| %s | %d | %d | %d |%n", e.getKey(), c.ok.sum(), c.expectedFault.sum(),
          c.unexplained.sum()));
    }
    String[] names = {"RSS KiB", "heap after GC KiB", "open fds", "threads"};
    // RSS rises while the JIT and the buffer pools warm up, and moves with GC timing: its limit is wide;
    // a leak of objects shows in the heap after GC, a leak of connections in fds, of threads in threads
    double[] limitPerMinute = {32_768, 4096, 20, 2};
    boolean grows = false;
    report.append(String.format(Locale.ROOT, "%n| resource | first | last | slope per minute (after warm-up) | limit |%n|---|---|---|---|---|%n"));
    int warm = samples.size() / 2;
    long windowMillis = samples.size() - warm < 2 ? 0 : samples.get(samples.size() - 1)[0] - samples.get(warm)[0];
    for (int k = 0; k < names.length; k++) {
      double slope = slopePerMinute(samples.subList(warm, samples.size()), k + 1);
      boolean judged = samples.size() - warm >= 3 && (k != 0 || windowMillis >= RSS_WINDOW_SECONDS * 1000L);
      boolean over = judged && slope > limitPerMinute[k];
      grows |= over;
      report.append(String.format(Locale.ROOT, "| %s | %d | %d | %.1f | %.0f%s |%n", names[k],
          samples.isEmpty() ? 0 : samples.get(0)[k + 1], samples.isEmpty() ? 0 : samples.get(samples.size() - 1)[k + 1],
          slope, limitPerMinute[k], over ? " **exceeded**" : judged ? ""
              : String.format(Locale.ROOT, " (not judged: %d s after warm-up, needs %d)", windowMillis / 1000,
                  RSS_WINDOW_SECONDS)));
    }
    out.println();
    out.print(report);
    for (String u : unexplained.stream().limit(10).toList()) {
      out.println("unexplained: " + u);
    }
    boolean pass = bad == 0 && !grows && closed && total() > 0;
    out.println(pass ? "soak: PASS" : "soak: FAIL" + (closed ? "" : " (the proxies did not close within 30 s)"));
    String file = System.getenv("SOAK_REPORT");
    if (file != null && !file.isEmpty()) {
      Files.writeString(Path.of(file), String.format(Locale.ROOT, "%nsoak %d s, paced at %.0f req/s: %s%n%n", durationSeconds,
          rate, pass ? "PASS" : "FAIL") + report, StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }
    return pass;
  }

  private long total() {
    long n = 0;
    for (Counts c : counts.values()) {
      n += c.ok.sum() + c.expectedFault.sum() + c.unexplained.sum();
    }
    return n;
  }

  private static long rssKiB(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException ignored) {
      // not Linux
    }
    return 0;
  }

  private static long fds(long pid) {
    try (var s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return s.count();
    } catch (IOException e) {
      return 0;
    }
  }

  /** Least-squares slope of column {@code k} against time (column 0, ms), per minute. */
  static double slopePerMinute(List<long[]> samples, int k) {
    int n = samples.size();
    if (n < 2) {
      return 0;
    }
    double mx = 0;
    double my = 0;
    for (long[] s : samples) {
      mx += s[0];
      my += s[k];
    }
    mx /= n;
    my /= n;
    double sxy = 0;
    double sxx = 0;
    for (long[] s : samples) {
      sxy += (s[0] - mx) * (s[k] - my);
      sxx += (s[0] - mx) * (s[0] - mx);
    }
    return sxx == 0 ? 0 : sxy / sxx * 60_000;
  }

  // ---------------------------------------------------------------- the load

  private void load(ExecutorService threads, int workers, long end) {
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      all.add(CompletableFuture.runAsync(() -> {
        Random r = ThreadLocalRandom.current();
        while (System.nanoTime() < end) {
          while (quiet) {
            LockSupport.parkNanos(1_000_000); // a sample is being taken
          }
          pace();
          int pick = r.nextInt(100);
          String kind = pick < 40 ? "get keep-alive" : pick < 60 ? "post echo" : pick < 70 ? "get new connection"
              : pick < 75 ? "client aborts" : pick < 79 ? "slow reader" : pick < 84 ? "origin resets"
              : pick < 92 ? "websocket" : "connect tunnel";
          Counts c = counts.computeIfAbsent(kind, k -> new Counts());
          inFlight.incrementAndGet();
          try {
            switch (kind) {
              case "get keep-alive": getKeepAlive(r, c); break;
              case "post echo": postEcho(r, c); break;
              case "get new connection": getNewConnection(r, c); break;
              case "client aborts": clientAborts(r, c); break;
              case "slow reader": slowReader(c); break;
              case "origin resets": originResets(c); break;
              case "websocket": webSocket(r, c); break;
              default: connectTunnel(r, c); break;
            }
          } catch (Exception e) {
            unexplained(c, kind + ": " + e);
          } finally {
            inFlight.decrementAndGet();
          }
        }
      }, threads));
    }
    CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0])).join();
  }

  private void pace() {
    long interval = paceNanos;
    if (interval == 0) {
      return;
    }
    long slot = nextSlot.getAndAdd(interval);
    long wait = slot - System.nanoTime();
    if (wait > 0) {
      LockSupport.parkNanos(wait);
    }
  }

  private void unexplained(Counts c, String what) {
    c.unexplained.increment();
    if (unexplained.size() < 100) {
      unexplained.add(what);
    }
  }

  private static int size(Random r) {
    int pick = r.nextInt(100);
    return pick < 70 ? 1024 : pick < 90 ? 64 * 1024 : pick < 97 ? 256 * 1024 : 1024 * 1024;
  }

  private static boolean isPattern(byte[] body, int n) {
    if (body.length != n) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (body[i] != pattern(i)) {
        return false;
      }
    }
    return true;
  }

  private URI reverse(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + reversePort + pathAndQuery);
  }

  private void getKeepAlive(Random r, Counts c) throws Exception {
    int n = size(r);
    HttpResponse<byte[]> resp = client.send(HttpRequest.newBuilder(reverse("/bytes?n=" + n)).timeout(Duration.ofSeconds(20))
        .build(), HttpResponse.BodyHandlers.ofByteArray());
    if (resp.statusCode() == 200 && isPattern(resp.body(), n)) {
      c.ok.increment();
    } else {
      unexplained(c, "GET " + n + " -> " + resp.statusCode() + " with " + resp.body().length + " bytes");
    }
  }

  private void postEcho(Random r, Counts c) throws Exception {
    byte[] body = new byte[size(r)];
    r.nextBytes(body);
    HttpResponse<byte[]> resp = client.send(HttpRequest.newBuilder(reverse("/echo")).timeout(Duration.ofSeconds(20))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
    if (resp.statusCode() == 200 && java.util.Arrays.equals(resp.body(), body)) {
      c.ok.increment();
    } else {
      unexplained(c, "POST " + body.length + " -> " + resp.statusCode() + " with " + resp.body().length + " bytes");
    }
  }

  /** A raw request on a new connection; the whole answer, head and body. */
  private static byte[] raw(int port, String head, byte[] body) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write(head.getBytes(StandardCharsets.ISO_8859_1));
      if (body != null) {
        s.getOutputStream().write(body);
      }
      return s.getInputStream().readAllBytes();
    }
  }

  private void getNewConnection(Random r, Counts c) throws Exception {
    int n = size(r);
    byte[] answer = raw(reversePort, "GET /bytes?n=" + n + " HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n", null);
    int head = indexOf(answer, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)) + 4;
    String status = new String(answer, 0, Math.min(12, answer.length), StandardCharsets.ISO_8859_1);
    if (head > 3 && status.equals("HTTP/1.1 200") && isPattern(java.util.Arrays.copyOfRange(answer, head, answer.length), n)) {
      c.ok.increment();
    } else {
      unexplained(c, "new connection GET " + n + " -> " + status + " with " + (answer.length - head) + " body bytes");
    }
  }

  private void clientAborts(Random r, Counts c) throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), reversePort)) {
      if (r.nextBoolean()) {
        // upload cut short
        s.getOutputStream().write("POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 1048576\r\n\r\n"
            .getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().write(new byte[64 * 1024]);
      } else {
        // download cut short
        s.getOutputStream().write("GET /bytes?n=1048576 HTTP/1.1\r\nHost: soak\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        s.getInputStream().readNBytes(16 * 1024);
      }
      s.setSoLinger(true, 0);
    }
    c.expectedFault.increment();
  }

  private void slowReader(Counts c) throws Exception {
    int n = 256 * 1024;
    try (Socket s = new Socket()) {
      s.setReceiveBufferSize(8 * 1024);
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), reversePort));
      s.setSoTimeout(20_000);
      s.getOutputStream().write(("GET /bytes?n=" + n + " HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] b = new byte[4096];
      int k;
      while ((k = in.read(b)) > 0) {
        got.write(b, 0, k);
        LockSupport.parkNanos(2_000_000); // about 2 MB/s at most
      }
      byte[] answer = got.toByteArray();
      int head = indexOf(answer, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)) + 4;
      if (head > 3 && isPattern(java.util.Arrays.copyOfRange(answer, head, answer.length), n)) {
        c.ok.increment();
      } else {
        unexplained(c, "slow reader got " + (answer.length - head) + " of " + n + " body bytes");
      }
    }
  }

  private void originResets(Counts c) throws Exception {
    byte[] answer = raw(reversePort, "GET /reset HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n", null);
    String text = new String(answer, 0, Math.min(answer.length, 12), StandardCharsets.ISO_8859_1);
    int head = indexOf(answer, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)) + 4;
    if (text.equals("HTTP/1.1 502")) {
      c.expectedFault.increment();
    } else if (text.equals("HTTP/1.1 200") && head > 3 && answer.length - head < 200_000) {
      c.expectedFault.increment(); // visibly truncated: fewer bytes than Content-Length, then the close
    } else {
      unexplained(c, "origin reset mid-body, client got " + text + " with " + (answer.length - head) + " body bytes");
    }
  }

  private void webSocket(Random r, Counts c) throws Exception {
    String text = "soak-" + r.nextLong();
    CompletableFuture<String> echoed = new CompletableFuture<>();
    WebSocket ws = client.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
        .buildAsync(URI.create("ws://127.0.0.1:" + reversePort + "/ws"), new WebSocket.Listener() {
          private final StringBuilder sb = new StringBuilder();

          @Override
          public java.util.concurrent.CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
            sb.append(data);
            if (last) {
              echoed.complete(sb.toString());
            }
            w.request(1);
            return null;
          }

          @Override
          public void onError(WebSocket w, Throwable error) {
            echoed.completeExceptionally(error);
          }
        }).get(10, TimeUnit.SECONDS);
    ws.sendText(text, true);
    String back = echoed.get(10, TimeUnit.SECONDS);
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(10, TimeUnit.SECONDS);
    if (back.equals(text)) {
      c.ok.increment();
    } else {
      unexplained(c, "websocket echoed " + back);
    }
  }

  private void connectTunnel(Random r, Counts c) throws Exception {
    byte[] data = new byte[64 * 1024];
    r.nextBytes(data);
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), forwardPort)) {
      s.setSoTimeout(20_000);
      OutputStream o = s.getOutputStream();
      InputStream in = s.getInputStream();
      o.write(("CONNECT 127.0.0.1:" + echoPort + " HTTP/1.1\r\nHost: 127.0.0.1:" + echoPort + "\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          unexplained(c, "CONNECT: closed after " + head);
          return;
        }
        head.write(b);
      }
      if (!head.toString(StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 200")) {
        unexplained(c, "CONNECT -> " + head.toString(StandardCharsets.ISO_8859_1).trim());
        return;
      }
      CompletableFuture<byte[]> back = CompletableFuture.supplyAsync(() -> {
        try {
          return in.readNBytes(data.length);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      o.write(data);
      o.flush();
      byte[] echoed = back.get(20, TimeUnit.SECONDS);
      if (java.util.Arrays.equals(echoed, data)) {
        c.ok.increment();
      } else {
        unexplained(c, "CONNECT echoed " + echoed.length + " of " + data.length + " bytes, or different ones");
      }
    }
  }

  private static int indexOf(byte[] a, byte[] b) {
    outer:
    for (int i = 0; i + b.length <= a.length; i++) {
      for (int j = 0; j < b.length; j++) {
        if (a[i + j] != b[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
