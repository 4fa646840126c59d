package dev.gatehouse.proxy;

import dev.gatehouse.proxy.internal.log.AccessLogWriter;
import dev.gatehouse.proxy.internal.server.Engine;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * An audit access log: one line per exchange, and one per tunnel when it ends ({@code CONNECT}), with
 * who asked (client address, authenticated user), for what (method, scheme, host, port, path), what
 * came of it (status, bytes in and out, duration) and the policy decision that let it through or
 * stopped it.
 *
 * <pre>{@code
 * ForwardProxy.builder()
 *     .accessLog(AccessLog.file(Path.of("egress.log"), AccessLog.Format.JSON_LINES))
 *     ...
 * }</pre>
 *
 * <p>Lines are formatted and written by a thread of the log's own, never on an I/O thread: an exchange
 * only hands a small record to a bounded queue. {@link ProxyServer#close()} writes every queued line
 * before it returns. If the destination cannot keep up and the queue fills ({@link
 * #queueCapacity(int)}), further lines are dropped rather than stall the proxy, and the number dropped
 * is logged as a warning; an audit log that must never drop should be given a queue large enough for
 * its bursts.
 *
 * <p>An {@code AccessLog} is a description; each proxy built with it opens its own writer when the
 * first line arrives, and closes it with the proxy.
 */
@CheckReturnValue
public final class AccessLog {

  /** The authenticated user name the log shows (set by proxy authentication, or by a filter). */
  public static final AttributeKey<String> USER = AttributeKey.of("user");
  /** The policy decision the log shows, e.g. {@code allow} or {@code deny} (set by the egress policy). */
  public static final AttributeKey<String> POLICY_DECISION = AttributeKey.of("policyDecision");
  /** The policy rule that decided, e.g. {@code allow host *.example.com}. */
  public static final AttributeKey<String> POLICY_RULE = AttributeKey.of("policyRule");

  /** Default most lines waiting to be written. */
  public static final int DEFAULT_QUEUE_CAPACITY = 65_536;

  /** Line formats. */
  public enum Format {
    /**
     * NCSA Common Log Format: {@code 127.0.0.1 - alice [10/Oct/2024:13:55:36 +0000] "GET
     * http://example.com/ HTTP/1.1" 200 2326}. The request line is the one received.
     */
    COMMON,
    /** Combined Log Format: {@link #COMMON} plus the quoted {@code Referer} and {@code User-Agent}. */
    COMBINED,
    /**
     * One JSON object per line with {@code time} (ISO-8601, UTC), {@code client}, {@code user}, {@code
     * method}, {@code scheme}, {@code host}, {@code port}, {@code path}, {@code protocol}, {@code status},
     * {@code bytesIn}, {@code bytesOut}, {@code durationMs}, {@code decision}, {@code rule} and {@code
     * requestId} (the {@link dev.gatehouse.proxy.headers.RequestId} of the exchange); absent values are
     * {@code null}. For a tunnel, {@code bytesIn} is client to destination and {@code
     * bytesOut} destination to client.
     */
    JSON_LINES
  }

  private final Format format;
  private final Path file;
  private final String loggerName;
  private final Consumer<String> sink;
  private final int queueCapacity;

  private AccessLog(Format format, Path file, String loggerName, Consumer<String> sink, int queueCapacity) {
    this.format = Objects.requireNonNull(format, "format");
    this.file = file;
    this.loggerName = loggerName;
    this.sink = sink;
    this.queueCapacity = queueCapacity;
  }

  /** Appends lines to {@code file} (created if missing, with its parent directories). */
  public static AccessLog file(Path file, Format format) {
    Objects.requireNonNull(file, "file");
    return new AccessLog(format, file, null, null, DEFAULT_QUEUE_CAPACITY);
  }

  /** Writes lines at INFO to the SLF4J logger called {@code loggerName}. */
  public static AccessLog logger(String loggerName, Format format) {
    Objects.requireNonNull(loggerName, "loggerName");
    if (loggerName.isBlank()) {
      throw new IllegalArgumentException("loggerName: \"" + loggerName + "\" (expected: a logger name)");
    }
    return new AccessLog(format, null, loggerName, null, DEFAULT_QUEUE_CAPACITY);
  }

  /**
   * Hands each line (without line terminator) to {@code sink}, one at a time, on the log's own thread;
   * {@code sink} may block.
   */
  public static AccessLog sink(Consumer<String> sink, Format format) {
    Objects.requireNonNull(sink, "sink");
    return new AccessLog(format, null, null, sink, DEFAULT_QUEUE_CAPACITY);
  }

  /**
   * Returns a log like this one holding at most {@code lines} lines waiting to be written.
   *
   * @implSpec Defaults to {@value #DEFAULT_QUEUE_CAPACITY}.
   */
  public AccessLog queueCapacity(int lines) {
    if (lines < 1) {
      throw new IllegalArgumentException("queueCapacity: " + lines + " (expected: > 0)");
    }
    return new AccessLog(format, file, loggerName, sink, lines);
  }

  /** The line format. */
  public Format format() {
    return format;
  }

  /** Attaches a writer for this log to a built proxy. */
  void attach(Engine engine) {
    AccessLogWriter writer = new AccessLogWriter(format, file, loggerName, sink, queueCapacity);
    engine.telemetry().addListener(new dev.gatehouse.proxy.internal.observe.AccessLogListener(writer));
    engine.addCloseHook(writer::close);
  }

  @Override
  public String toString() {
    String to = file != null ? file.toString() : loggerName != null ? "logger " + loggerName : "sink";
    return "AccessLog(" + format + " to " + to + ")";
  }
}
