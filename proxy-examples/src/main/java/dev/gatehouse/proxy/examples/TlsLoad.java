package dev.gatehouse.proxy.examples;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A small HTTPS load generator for what the common tools cannot drive: HTTPS keep-alive requests
 * <em>through a forward proxy's {@code CONNECT}</em> (wrk and h2load do not speak to proxies), which is
 * how an intercepting proxy ({@link BenchForwardProxy} with {@code MITM_CA_CERT_FILE}) is measured, and
 * the same requests sent directly to a TLS-terminating server, so that both figures come from one client.
 *
 * <p>Each of {@code --conns} threads opens a connection (through {@code --proxy} when given: a
 * {@code CONNECT} to the target's authority, then TLS inside the tunnel, with SNI and host-name
 * verification against {@code --ca}) and sends keep-alive {@code GET}s until {@code --duration} ends;
 * with {@code --new-connections} every request gets a new connection (a full TLS handshake on each leg
 * of an intercepting proxy). After {@code --warmup} seconds it prints requests/s, p50/p99 latency,
 * errors, and, given {@code --pid} and {@code --cpu}, the process CPU and the core's busy time per
 * request (the figure that compares proxies fairly when the load side is the limit):
 *
 * <pre>
 * taskset -c 0 java -cp gatehouse-examples.jar dev.gatehouse.proxy.examples.TlsLoad \
 *     --target https://origin.test:18443/1k --proxy 127.0.0.1:18087 --ca mitm-ca.pem \
 *     --conns 50 --duration 10 --warmup 5 --pid $PROXY_PID --cpu 1
 * </pre>
 * The target's host name must resolve (an {@code /etc/hosts} line) when it is not an IP address; the
 * forward proxy resolves it again for its own upstream connection.
 */
public final class TlsLoad {
  private static final PrintStream out = System.out;

  private TlsLoad() {}

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    SSLContext tls = trusting(o.caFiles);
    if (o.warmup > 0) {
      run(o, tls, o.warmup, false);
    }
    Result r = run(o, tls, o.duration, true);
    out.println(r.line(o));
  }

  private static Result run(Options o, SSLContext tls, int seconds, boolean measure) throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong errors = new AtomicLong();
    long[][] latencies = new long[o.conns][];
    int[] counts = new int[o.conns];
    CountDownLatch done = new CountDownLatch(o.conns);
    Thread[] threads = new Thread[o.conns];
    for (int i = 0; i < o.conns; i++) {
      int n = i;
      latencies[i] = new long[1 << 16];
      threads[i] = new Thread(() -> {
        try {
          counts[n] = client(o, tls, stop, errors, latencies, n);
        } finally {
          done.countDown();
        }
      }, "tls-load-" + i);
    }
    long cpu0 = processTicks(o.pid);
    long[] core0 = coreTicks(o.cpu);
    long t0 = System.nanoTime();
    for (Thread t : threads) {
      t.start();
    }
    long end = t0 + seconds * 1_000_000_000L;
    for (long left = end - t0; left > 0; left = end - System.nanoTime()) {
      LockSupport.parkNanos(Math.min(50_000_000L, left));
    }
    long cpu1 = processTicks(o.pid);
    long[] core1 = coreTicks(o.cpu);
    long elapsed = System.nanoTime() - t0;
    stop.set(true);
    done.await();
    if (!measure) {
      return null;
    }
    long total = Arrays.stream(counts).asLongStream().sum();
    long[] all = new long[(int) total];
    int k = 0;
    for (int i = 0; i < o.conns; i++) {
      long[] mine = latencies[i];
      int c = Math.min(counts[i], mine.length);
      System.arraycopy(mine, 0, all, k, c);
      k += c;
    }
    long[] sorted = Arrays.copyOf(all, k);
    Arrays.sort(sorted);
    return new Result(total, elapsed, errors.get(), sorted, cpu1 - cpu0, core1[0] - core0[0], core1[1] - core0[1]);
  }

  /** One client thread; returns how many requests it completed (latencies in its array). */
  private static int client(Options o, SSLContext tls, AtomicBoolean stop, AtomicLong errors, long[][] lat, int n) {
    byte[] request = ("GET " + o.path + " HTTP/1.1\r\nHost: " + o.authority + "\r\nUser-Agent: gatehouse-tlsload\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1);
    int done = 0;
    SSLSocket socket = null;
    while (!stop.get()) {
      try {
        if (socket == null) {
          socket = open(o, tls);
        }
        long start = System.nanoTime();
        socket.getOutputStream().write(request);
        socket.getOutputStream().flush();
        boolean keepAlive = readResponse(socket.getInputStream());
        long took = System.nanoTime() - start;
        if (done >= lat[n].length) {
          lat[n] = Arrays.copyOf(lat[n], lat[n].length * 2);
        }
        lat[n][done++] = took;
        if (!keepAlive || o.newConnections) {
          socket.close();
          socket = null;
        }
      } catch (IOException | RuntimeException e) {
        if (!stop.get() && errors.getAndIncrement() == 0) {
          System.err.println("first error: " + e);
        }
        closeQuietly(socket);
        socket = null;
      }
    }
    closeQuietly(socket);
    return done;
  }

  private static SSLSocket open(Options o, SSLContext tls) throws IOException {
    Socket raw = new Socket();
    raw.setTcpNoDelay(true);
    try {
      if (o.proxy != null) {
        raw.connect(o.proxy, 5000);
        OutputStream w = raw.getOutputStream();
        w.write(("CONNECT " + o.authority + " HTTP/1.1\r\nHost: " + o.authority + "\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
        w.flush();
        String head = readHead(raw.getInputStream());
        if (!head.startsWith("HTTP/1.1 200") && !head.startsWith("HTTP/1.0 200")) {
          throw new IOException("CONNECT refused: " + head.lines().findFirst().orElse(""));
        }
      } else {
        raw.connect(new InetSocketAddress(o.host, o.port), 5000);
      }
      SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(raw, o.host, o.port, true);
      SSLParameters p = s.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("HTTPS");
      if (!Character.isDigit(o.host.charAt(0)) && !o.host.contains(":")) {
        p.setServerNames(List.of(new SNIHostName(o.host)));
      }
      p.setApplicationProtocols(new String[] {"http/1.1"});
      s.setSSLParameters(p);
      s.startHandshake();
      return s;
    } catch (IOException | RuntimeException e) {
      raw.close();
      throw e;
    }
  }

  /** Reads one response with a Content-Length or chunked body; returns whether the connection stays open. */
  private static boolean readResponse(InputStream in) throws IOException {
    String head = readHead(in);
    if (!head.startsWith("HTTP/1.1 200")) {
      throw new IOException("status: " + head.lines().findFirst().orElse(""));
    }
    long length = -1;
    boolean chunked = false;
    boolean close = false;
    for (String line : head.split("\r\n")) {
      String lower = line.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Long.parseLong(lower.substring(15).trim());
      } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      } else if (lower.startsWith("connection:") && lower.contains("close")) {
        close = true;
      }
    }
    if (chunked) {
      while (true) {
        String size = readLine(in);
        int semi = size.indexOf(';');
        long n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
        if (n == 0) {
          while (!readLine(in).isEmpty()) {
            // trailers
          }
          break;
        }
        skip(in, n);
        readLine(in);
      }
    } else if (length >= 0) {
      skip(in, length);
    } else {
      throw new IOException("response without a length");
    }
    return !close;
  }

  private static final ThreadLocal<byte[]> SKIP = ThreadLocal.withInitial(() -> new byte[16384]);

  private static void skip(InputStream in, long n) throws IOException {
    byte[] buf = SKIP.get();
    while (n > 0) {
      int r = in.read(buf, 0, (int) Math.min(buf.length, n));
      if (r < 0) {
        throw new IOException("truncated body");
      }
      n -= r;
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream(256);
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed in the response head");
      }
      head.write(b);
      state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
      if (head.size() > 65536) {
        throw new IOException("response head over 64 KiB");
      }
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int b;
    while ((b = in.read()) != '\n') {
      if (b < 0) {
        throw new IOException("truncated chunked body");
      }
      if (b != '\r') {
        sb.append((char) b);
      }
    }
    return sb.toString();
  }

  private static SSLContext trusting(List<Path> caFiles) throws Exception {
    if (caFiles.isEmpty()) {
      return SSLContext.getDefault();
    }
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    int i = 0;
    for (Path file : caFiles) {
      try (InputStream in = Files.newInputStream(file)) {
        for (Certificate c : cf.generateCertificates(in)) {
          trust.setCertificateEntry("ca-" + i++, c);
        }
      }
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  private static void closeQuietly(Socket s) {
    if (s != null) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing after a failure
      }
    }
  }

  /** utime + stime of a process in clock ticks, or 0 without a pid. */
  private static long processTicks(long pid) throws IOException {
    if (pid <= 0) {
      return 0;
    }
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /** {busy, total} clock ticks of one CPU from /proc/stat, or zeros without a CPU. */
  private static long[] coreTicks(int cpu) throws IOException {
    if (cpu < 0) {
      return new long[2];
    }
    for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
      if (line.startsWith("cpu" + cpu + " ")) {
        String[] f = line.trim().split("\\s+");
        long total = 0;
        for (int i = 1; i < f.length && i <= 8; i++) {
          total += Long.parseLong(f[i]);
        }
        long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
        return new long[] {total - idle, total};
      }
    }
    throw new IOException("cpu" + cpu + " not in /proc/stat");
  }

  private record Result(long requests, long elapsedNanos, long errors, long[] sortedLatencies, long processTicks,
      long coreBusyTicks, long coreTotalTicks) {
    String line(Options o) {
      double seconds = elapsedNanos / 1e9;
      double rate = requests / seconds;
      double tick = 1e6 / 100; // µs per clock tick (USER_HZ = 100 on Linux)
      String cpu = o.pid > 0 ? String.format(Locale.ROOT, " process_us_per_req=%.1f", processTicks * tick / requests) : "";
      String core = o.cpu >= 0 ? String.format(Locale.ROOT, " core_busy=%.0f%% core_us_per_req=%.1f",
          100.0 * coreBusyTicks / Math.max(1, coreTotalTicks), coreBusyTicks * tick / requests) : "";
      return String.format(Locale.ROOT, "%s %s req_per_s=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d errors=%d%s%s",
          o.newConnections ? "new-connections" : "keep-alive", o.proxy != null ? "via-proxy" : "direct",
          rate, pct(0.50), pct(0.99), requests, errors, cpu, core);
    }

    double pct(double p) {
      if (sortedLatencies.length == 0) {
        return Double.NaN;
      }
      return sortedLatencies[(int) Math.min(sortedLatencies.length - 1, Math.floor(p * sortedLatencies.length))] / 1e6;
    }
  }

  private static final class Options {
    String host;
    int port;
    String path;
    String authority;
    InetSocketAddress proxy;
    final List<Path> caFiles = new ArrayList<>();
    int conns = 50;
    int duration = 10;
    int warmup = 5;
    boolean newConnections;
    long pid = -1;
    int cpu = -1;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (a.equals("--new-connections")) {
          o.newConnections = true;
          continue;
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(a + ": a value is missing");
        }
        String v = args[++i];
        switch (a) {
          case "--target" -> {
            URI u = URI.create(v);
            if (!"https".equals(u.getScheme()) || u.getHost() == null) {
              throw new IllegalArgumentException("--target: " + v + " (expected: https://host:port/path)");
            }
            o.host = u.getHost();
            o.port = u.getPort() < 0 ? 443 : u.getPort();
            o.path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
            o.authority = o.host + ":" + o.port;
          }
          case "--proxy" -> {
            int colon = v.lastIndexOf(':');
            o.proxy = new InetSocketAddress(v.substring(0, colon), Integer.parseInt(v.substring(colon + 1)));
          }
          case "--ca" -> o.caFiles.add(Path.of(v));
          case "--conns" -> o.conns = Integer.parseInt(v);
          case "--duration" -> o.duration = Integer.parseInt(v);
          case "--warmup" -> o.warmup = Integer.parseInt(v);
          case "--pid" -> o.pid = Long.parseLong(v);
          case "--cpu" -> o.cpu = Integer.parseInt(v);
          default -> throw new IllegalArgumentException(a + ": unknown option (expected: --target, --proxy, --ca, "
              + "--conns, --duration, --warmup, --new-connections, --pid, --cpu)");
        }
      }
      if (o.host == null) {
        throw new IllegalArgumentException("--target: missing (expected: https://host:port/path)");
      }
      return o;
    }
  }
}
