package dev.gatehouse.proxy.internal.log;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.headers.RequestId;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.RequestImpl;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes access-log lines on a thread of its own. The I/O thread only captures an {@link Entry} and
 * offers it to a bounded queue (never waiting, never waking the writer); the writer formats and writes,
 * flushing whenever the queue runs empty, and naps 1-50 ms between polls when it does. {@link #close()} drains the queue before it returns.
 */
public final class AccessLogWriter {
  private static final Logger log = LoggerFactory.getLogger(AccessLogWriter.class);
  private static final DateTimeFormatter CLF_TIME =
      DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);
  private static final Entry POISON = new Entry(0, null, null, null, null, null, null, 0, null, null, 0, 0, 0, 0,
      null, null, null, null, null);
  private static final long CLOSE_WAIT_MS = 30_000;

  /** What one line says; captured on the I/O thread, formatted on the writer thread. */
  public record Entry(long epochMillis, String client, String user, String method, String scheme, String host,
      String pathAndQuery, int port, String requestLine, String protocol, int status, long bytesIn, long bytesOut,
      long durationMicros, String decision, String rule, String referer, String userAgent, String requestId) {}

  private final AccessLog.Format format;
  private final Path file;
  private final String loggerName;
  private final Consumer<String> sink;
  private static final String[] THREE_DIGITS = new String[1000];

  static {
    for (int i = 0; i < 1000; i++) {
      THREE_DIGITS[i] = String.format(Locale.ROOT, "%03d", i);
    }
  }

  private final BlockingQueue<Entry> queue;
  /** The writer's nap when the queue is empty: short after a line, growing while idle. */
  private static final long MIN_NAP_NANOS = 1_000_000;
  private static final long MAX_NAP_NANOS = 50_000_000;
  private final AtomicLong dropped = new AtomicLong();
  private final Object lock = new Object();
  private Thread thread;
  private volatile boolean closed;
  private BufferedWriter out;
  private Logger target;

  public AccessLogWriter(AccessLog.Format format, Path file, String loggerName, Consumer<String> sink,
      int capacity) {
    this.format = format;
    this.file = file;
    this.loggerName = loggerName;
    this.sink = sink;
    this.queue = new ArrayBlockingQueue<>(capacity);
  }

  /** Completion listener: records a finished exchange (or a tunnel that ended). */
  public void record(ExchangeImpl ex) {
    offer(capture(ex));
  }

  /** Captures the line's data from an exchange; cheap, on the I/O thread. */
  static Entry capture(ExchangeImpl ex) {
    HttpServerExchange hse = ex.hse();
    long now = System.nanoTime();
    long micros = (now - ex.startNanos()) / 1000;
    long start = System.currentTimeMillis() - micros / 1000;
    RequestImpl r = ex.requestImpl();
    String scheme = r.scheme();
    String authority = r.authority();
    String host = authority;
    int port = "https".equals(scheme) ? 443 : 80;
    int colon = authority.lastIndexOf(':');
    if (colon > 0 && authority.indexOf(']', colon) < 0) {
      host = authority.substring(0, colon);
      try {
        port = Integer.parseInt(authority.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    String query = hse.getQueryString();
    String line = hse.getRequestMethod() + " " + hse.getRequestURI()
        + (query == null || query.isEmpty() ? "" : "?" + query) + " " + hse.getProtocol();
    boolean connect = "CONNECT".equals(r.method());
    return new Entry(start, ex.realClientIp(), ex.attribute(AccessLog.USER).orElse(null), r.method(),
        connect ? null : scheme, host.isEmpty() ? null : host, connect ? null : r.pathAndQuery(), port, line,
        hse.getProtocol().toString(), ex.responseStatus(), ex.requestBodyBytes(), ex.responseBodyBytes(), micros,
        ex.attribute(AccessLog.POLICY_DECISION).orElse(null), ex.attribute(AccessLog.POLICY_RULE).orElse(null),
        hse.getRequestHeaders().getFirst(Headers.REFERER), hse.getRequestHeaders().getFirst(Headers.USER_AGENT),
        ex.attribute(RequestId.ATTRIBUTE).orElse(null));
  }

  void offer(Entry e) {
    if (closed) {
      dropped.incrementAndGet();
      log.debug("access log closed; dropped a line for {} {}", e.method(), e.requestLine());
      return;
    }
    startIfNeeded();
    if (!queue.offer(e)) {
      long n = dropped.incrementAndGet();
      if (Long.bitCount(n) == 1) { // 1, 2, 4, 8, ...: a warning, not a flood
        log.warn("access log queue full ({} lines): {} lines dropped so far", queue.size(), n);
      }
    }
  }

  private void startIfNeeded() {
    if (thread != null) {
      return;
    }
    synchronized (lock) {
      if (thread == null && !closed) {
        Thread t = new Thread(this::run, "gatehouse-access-log");
        t.setDaemon(true);
        t.start();
        thread = t;
      }
    }
  }

  private void run() {
    try {
      open();
    } catch (IOException e) {
      log.error("cannot open access log {}: {}", file, e.toString());
    }
    // The writer never blocks on the queue: an I/O thread offering a line then never has to wake it
    // (a futex call and a context switch per request). It polls, and naps when there is nothing to do,
    // a little longer each idle round, flushing what it wrote before napping.
    long napNanos = MIN_NAP_NANOS;
    boolean dirty = false;
    for (;;) {
      Entry e = queue.poll();
      if (e == null) {
        if (dirty) {
          flush();
          dirty = false;
        }
        if (Thread.interrupted()) {
          break;
        }
        java.util.concurrent.locks.LockSupport.parkNanos(this, napNanos);
        napNanos = Math.min(MAX_NAP_NANOS, napNanos * 2);
        continue;
      }
      if (e == POISON) {
        break;
      }
      napNanos = MIN_NAP_NANOS;
      write(format(e));
      dirty = true;
    }
    Entry e;
    while ((e = queue.poll()) != null) {
      if (e != POISON) {
        write(format(e));
      }
    }
    flush();
    if (out != null) {
      try {
        out.close();
      } catch (IOException ex) {
        log.warn("closing access log {} failed: {}", file, ex.toString());
      }
    }
  }

  private void open() throws IOException {
    if (file != null) {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    } else if (loggerName != null) {
      target = LoggerFactory.getLogger(loggerName);
    }
  }

  private void write(String line) {
    try {
      if (out != null) {
        out.write(line);
        out.write('\n');
      } else if (target != null) {
        target.info(line);
      } else if (sink != null) {
        sink.accept(line);
      }
    } catch (IOException | RuntimeException e) {
      long n = dropped.incrementAndGet();
      if (Long.bitCount(n) == 1) {
        log.warn("access log write failed ({} lines lost so far): {}", n, e.toString());
      }
    }
  }

  private void flush() {
    if (out != null) {
      try {
        out.flush();
      } catch (IOException e) {
        log.warn("access log flush failed: {}", e.toString());
      }
    }
  }

  /** Writes what is queued, then stops the writer thread. Idempotent. */
  public void close() {
    Thread t;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      t = thread;
    }
    if (t == null) {
      return;
    }
    // an interrupt does not cut this short (the lines would be lost); it is passed on when done
    boolean interrupted = false;
    for (;;) {
      try {
        queue.put(POISON); // waits for room: every line queued before close is written
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    java.util.concurrent.locks.LockSupport.unpark(t);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MS);
    for (long left = CLOSE_WAIT_MS; left > 0 && t.isAlive();
        left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())) {
      try {
        t.join(left);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (t.isAlive()) {
      log.warn("access log writer still busy after {} ms; {} lines pending", CLOSE_WAIT_MS, queue.size());
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Lines dropped because the queue was full or the log was closed. */
  public long dropped() {
    return dropped.get();
  }

  // ---------------------------------------------------------------- formats

  String format(Entry e) {
    switch (format) {
      case COMMON:
        return common(e).toString();
      case COMBINED:
        return common(e).append(" \"").append(clfEscape(e.referer() == null ? "-" : e.referer()))
            .append("\" \"").append(clfEscape(e.userAgent() == null ? "-" : e.userAgent())).append('"').toString();
      default:
        return json(e);
    }
  }

  private static StringBuilder common(Entry e) {
    StringBuilder sb = new StringBuilder(160);
    sb.append(e.client()).append(" - ").append(e.user() == null ? "-" : clfToken(e.user()))
        .append(" [").append(CLF_TIME.format(Instant.ofEpochMilli(e.epochMillis()))).append("] \"")
        .append(clfEscape(e.requestLine())).append("\" ").append(e.status()).append(' ')
        .append(e.bytesOut() == 0 ? "-" : Long.toString(e.bytesOut()));
    return sb;
  }

  private static String json(Entry e) {
    StringBuilder sb = new StringBuilder(256);
    sb.append("{\"time\":");
    str(sb, DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochMilli(e.epochMillis())));
    sb.append(",\"client\":");
    str(sb, e.client());
    sb.append(",\"user\":");
    str(sb, e.user());
    sb.append(",\"method\":");
    str(sb, e.method());
    sb.append(",\"scheme\":");
    str(sb, e.scheme());
    sb.append(",\"host\":");
    str(sb, e.host());
    sb.append(",\"port\":").append(e.port());
    sb.append(",\"path\":");
    str(sb, e.pathAndQuery());
    sb.append(",\"protocol\":");
    str(sb, e.protocol());
    sb.append(",\"status\":").append(e.status());
    sb.append(",\"bytesIn\":").append(e.bytesIn());
    sb.append(",\"bytesOut\":").append(e.bytesOut());
    sb.append(",\"durationMs\":").append(e.durationMicros() / 1000).append('.')
        .append(THREE_DIGITS[(int) (e.durationMicros() % 1000)]);
    sb.append(",\"decision\":");
    str(sb, e.decision());
    sb.append(",\"rule\":");
    str(sb, e.rule());
    sb.append(",\"requestId\":");
    str(sb, e.requestId());
    sb.append('}');
    return sb.toString();
  }

  private static void str(StringBuilder sb, String s) {
    if (s == null) {
      sb.append("null");
      return;
    }
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': sb.append("\\\""); break;
        case '\\': sb.append("\\\\"); break;
        case '\n': sb.append("\\n"); break;
        case '\r': sb.append("\\r"); break;
        case '\t': sb.append("\\t"); break;
        default:
          if (c < 0x20 || c == 0x7F) {
            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    sb.append('"');
  }

  /** Escapes {@code "}, {@code \} and controls as Apache httpd does, so a line cannot be forged. */
  private static String clfEscape(String s) {
    StringBuilder sb = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      String rep = null;
      if (c == '"') {
        rep = "\\\"";
      } else if (c == '\\') {
        rep = "\\\\";
      } else if (c < 0x20 || c == 0x7F) {
        rep = String.format(Locale.ROOT, "\\x%02x", (int) c);
      }
      if (rep != null && sb == null) {
        sb = new StringBuilder(s.length() + 8).append(s, 0, i);
      }
      if (sb != null) {
        sb.append(rep != null ? rep : String.valueOf(c));
      }
    }
    return sb == null ? s : sb.toString();
  }

  /** A user name in CLF: no spaces (they would shift the fields). */
  private static String clfToken(String s) {
    String e = clfEscape(s);
    return e.isEmpty() ? "-" : e.replace(' ', '_');
  }
}
