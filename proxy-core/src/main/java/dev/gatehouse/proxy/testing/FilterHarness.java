package dev.gatehouse.proxy.testing;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.ErrorHandler;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyRequest;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.exchange.ChainContext;
import dev.gatehouse.proxy.internal.exchange.FilterChain;
import dev.gatehouse.proxy.internal.exchange.ResponseImpl;
import dev.gatehouse.proxy.internal.exchange.SlowFilterCheck;
import dev.gatehouse.proxy.internal.observe.DecisionSink;
import dev.gatehouse.proxy.internal.server.ResponseRules;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Runs one filter or a chain in memory against a scripted upstream, and tells what the upstream
 * received and what the client would get: a unit test for a filter, without sockets and without
 * threads of its own.
 *
 * <pre>{@code
 * FilterHarness.Result r = FilterHarness.of(apiKeyFilter)
 *     .request(TestRequest.GET("/orders"))
 *     .upstreamReplies(200, "[]")
 *     .run();
 * assertEquals(401, r.response().status());
 * assertFalse(r.upstreamCalled());
 * }</pre>
 *
 * <p><b>Same rules as the proxy.</b> Filters run through the proxy's own filter chain: registration
 * order, {@code proceed()} at most once and from any thread, a {@code null} stage or a second {@code
 * proceed()} answered 500. The chain's outcome becomes the client's response as the proxy makes it: a
 * failure goes to the {@link ErrorHandler} ({@linkplain ErrorHandler#defaults() the default} unless
 * {@link #errorHandler} sets another), request body transformers run before the upstream sees the body
 * (a {@link dev.gatehouse.proxy.BodyTooLargeException} there gives 413), response body transformers
 * before the client sees it (502), and a local body's {@code Content-Length} is set by the proxy.
 *
 * <p><b>Threads.</b> {@link #run()} plays the exchange's I/O thread on the calling thread: the chain
 * starts there, {@code proceed()} called from another thread hops back to it, and the upstream's answer
 * arrives there after the filters returned, as on a socket. Tasks for {@code
 * exchange.blockingExecutor()} run on the calling thread too, one at a time, outside the I/O thread (a
 * filter sees {@code proceed()} hop back, as in the proxy). A filter's own threads may complete its
 * stages; {@code run()} waits for them up to {@link #timeout(Duration)}. A filter that blocks the I/O
 * thread on its own stage ({@code join()}) stalls here as it would stall the proxy.
 *
 * <p><b>What it leaves out.</b> The proxy's HTTP duties ({@code Via}, {@code X-Forwarded-*}, removal of
 * hop-by-hop fields) and the transport (timeouts, framing, partial bodies) are not applied: the harness
 * tests filters, not the engine. A request whose body a transformer refused never counts as received
 * by the upstream (the real upstream sees a request cut short).
 *
 * <p>A harness is a mutable description, not thread-safe; each {@link #run()} is a fresh exchange.
 *
 * <p>(This class is long because it is the kit's one entry point: the request, the upstream's stand-in, the
 * run under the engine's own chain rules and its outcome, each documented.)
 */
public final class FilterHarness {
  /** How long {@link #run()} waits for stages completed by other threads. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private final List<Filter> filters;
  private TestRequest request = TestRequest.GET("/");
  private Function<UpstreamRequest, TestResponse> upstream = r -> TestResponse.of(200, "");
  private Throwable upstreamFailure;
  private ErrorHandler errorHandler = ErrorHandler.defaults();
  private Duration timeout = DEFAULT_TIMEOUT;

  private FilterHarness(List<Filter> filters) {
    this.filters = filters;
  }

  /** A harness for {@code filters}, in registration order (the first sees the request first). */
  public static FilterHarness of(Filter... filters) {
    Objects.requireNonNull(filters, "filters");
    return of(List.of(filters));
  }

  /** A harness for {@code filters}, in registration order. */
  public static FilterHarness of(List<Filter> filters) {
    Objects.requireNonNull(filters, "filters");
    for (Filter f : filters) {
      Objects.requireNonNull(f, "filter");
    }
    return new FilterHarness(List.copyOf(filters));
  }

  /**
   * The client's request.
   *
   * @implSpec Defaults to {@code GET /}.
   */
  public FilterHarness request(TestRequest request) {
    this.request = Objects.requireNonNull(request, "request");
    return this;
  }

  /**
   * The upstream answers every request with {@code status} and a UTF-8 {@code body}.
   *
   * @implSpec Defaults to 200, empty.
   */
  public FilterHarness upstreamReplies(int status, String body) {
    return upstreamReplies(TestResponse.of(status, body));
  }

  /** The upstream answers every request with {@code response}. */
  public FilterHarness upstreamReplies(TestResponse response) {
    Objects.requireNonNull(response, "response");
    return upstream(r -> response);
  }

  /** The upstream answers with what {@code upstream} returns for the request it received. */
  public FilterHarness upstream(Function<UpstreamRequest, TestResponse> upstream) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.upstreamFailure = null;
    return this;
  }

  /**
   * The upstream call fails with {@code failure}, e.g. {@code new UpstreamTimeoutException("...")} (504
   * by default) or {@code new UpstreamConnectException("...", null)} (502).
   */
  public FilterHarness upstreamFails(Throwable failure) {
    this.upstreamFailure = Objects.requireNonNull(failure, "failure");
    return this;
  }

  /**
   * Maps failures to responses, as the builder's.
   *
   * @implSpec Defaults to {@link ErrorHandler#defaults()}.
   */
  public FilterHarness errorHandler(ErrorHandler handler) {
    this.errorHandler = Objects.requireNonNull(handler, "errorHandler");
    return this;
  }

  /**
   * How long {@link #run()} waits for stages other threads complete.
   *
   * @implSpec Defaults to 10 s.
   */
  public FilterHarness timeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
    }
    this.timeout = timeout;
    return this;
  }

  /**
   * Runs the exchange to its end on the calling thread.
   *
   * @throws IllegalStateException if the chain did not complete within the timeout (a stage nobody
   *     completes), or {@code run()} is called from a filter
   */
  public Result run() {
    return new Run().run();
  }

  // ---------------------------------------------------------------- one run

  /** One exchange: the I/O thread's task queue, the exchange, the upstream, the outcome. */
  private final class Run {
    private final LinkedBlockingQueue<Task> tasks = new LinkedBlockingQueue<>();
    private final Exchange exchange = new Exchange(this, request);
    private Thread ioThread;
    private boolean inBlockingTask;
    private boolean done;
    private ClientResponse response;
    private UpstreamRequest received;
    private Throwable error;

    Result run() {
      ioThread = Thread.currentThread();
      tasks.add(new Task(true, this::startChain));
      long deadline = System.nanoTime() + timeout.toNanos();
      try {
        while (!done) {
          Task t = tasks.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
          if (t == null) {
            throw new IllegalStateException("the filter chain did not complete within " + timeout
                + " (expected: every filter returns chain.proceed() or a response, and completes its stage)");
          }
          inBlockingTask = !t.io;
          try {
            t.task.run();
          } finally {
            inBlockingTask = false;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while the filter chain ran", e);
      } finally {
        exchange.finish();
      }
      return new Result(response, received, error, exchange.attributes, List.copyOf(exchange.decisions));
    }

    private void startChain() {
      CompletionStage<ProxyResponse> stage = FilterChain.run(exchange, filters, this::upstream);
      stage.whenComplete((r, e) -> {
        if (exchange.inIoThread()) {
          respond(r, e);
        } else {
          exchange.executeOnIoThread(() -> respond(r, e));
        }
      });
    }

    /**
     * The terminal step: the scripted upstream. As on a socket, the request reaches it later (once a
     * connection is ready), not inside {@code proceed()}: a response chosen before that (a filter that
     * proceeded and then answered itself, or a misuse) means the upstream never sees the request.
     */
    private CompletionStage<ProxyResponse> upstream(Exchange x) {
      CompletableFuture<ProxyResponse> answer = new CompletableFuture<>();
      x.executeOnIoThread(() -> {
        if (done) {
          answer.cancel(false); // given up, as the engine aborts calls whose response was not chosen
          return;
        }
        if (upstreamFailure != null) {
          answer.completeExceptionally(upstreamFailure);
          return;
        }
        try {
          answer.complete(deliver(x.request));
        } catch (RuntimeException e) {
          answer.completeExceptionally(e);
        }
      });
      return answer;
    }

    /** Sends the request (its body through the request transformers) and returns the upstream's answer. */
    private ProxyResponse deliver(HarnessRequest r) {
      byte[] body = r.transformers() == null ? r.body : ResponseRules.transform(r.body, r.transformers());
      HarnessHeaders sent = new HarnessHeaders(r.headerMap());
      if (r.transformers() != null) {
        sent.set("Content-Length", Integer.toString(body.length));
      }
      UpstreamRequest u = new UpstreamRequest(r.method(), r.path(), r.query(), r.authority(), sent.toMap(), body);
      received = u;
      TestResponse reply = upstream.apply(u);
      if (reply == null) {
        throw new IllegalStateException("the upstream function returned null (expected: a TestResponse)");
      }
      HarnessHeaders headers = new HarnessHeaders();
      for (Map.Entry<String, String> h : reply.headers()) {
        headers.add(h.getKey(), h.getValue());
      }
      if (!headers.contains("Content-Length")) {
        headers.set("Content-Length", Integer.toString(reply.body().length));
      }
      return ResponseImpl.scripted(reply.status(), headers, reply.body());
    }

    /** The chain's outcome becomes the client's response, as the engine makes it. */
    private void respond(ProxyResponse r, Throwable e) {
      if (done) {
        return;
      }
      if (exchange.misuse != null) {
        r = null;
        e = exchange.misuse;
      }
      if (e != null) {
        r = errorAnswer(ResponseRules.unwrap(e), ErrorHandler.Phase.REQUEST);
      } else if (r == null) {
        r = errorAnswer(new IllegalStateException("the filter chain completed with a null response"),
            ErrorHandler.Phase.REQUEST);
      }
      commit(r);
    }

    private ProxyResponse errorAnswer(Throwable e, ErrorHandler.Phase phase) {
      if (error == null) {
        error = e;
      }
      return ResponseRules.errorResponse(errorHandler, exchange, e, phase);
    }

    private void commit(ProxyResponse r) {
      boolean head = "HEAD".equals(exchange.request.method());
      if (r.fromUpstream()) { // the scripted upstream's answer: the harness makes no other
        byte[] body = ResponseImpl.body(r);
        HarnessHeaders headers = (HarnessHeaders) r.headers();
        List<BodyTransformer> transformers = ResponseImpl.transformers(r);
        if (transformers != null && !transformers.isEmpty()) {
          try {
            body = ResponseRules.transform(body, transformers);
          } catch (RuntimeException e) {
            commit(errorAnswer(e, ErrorHandler.Phase.RESPONSE)); // nothing was sent yet: the error handler answers
            return;
          }
          headers.set("Content-Length", Integer.toString(body.length));
        }
        finish(new ClientResponse(r.status(), headers.toMap(), head ? new byte[0] : body, true));
        return;
      }
      HarnessHeaders headers = new HarnessHeaders();
      for (String name : r.headers().names()) {
        if (!name.equalsIgnoreCase("Content-Length")) { // a local body's length is the proxy's to set
          for (String v : r.headers().getAll(name)) {
            headers.add(name, v);
          }
        }
      }
      byte[] body = ResponseImpl.body(r) != null ? ResponseImpl.body(r) : new byte[0];
      List<BodyTransformer> transformers = ResponseImpl.transformers(r);
      if (transformers != null && !transformers.isEmpty()) {
        try {
          body = ResponseRules.transform(body, transformers);
        } catch (RuntimeException e) {
          ProxyResponse err = errorAnswer(e, ErrorHandler.Phase.RESPONSE);
          if (ResponseImpl.transformers(err) != null) {
            err = ResponseRules.errorResponse(ErrorHandler.defaults(), exchange, e, ErrorHandler.Phase.RESPONSE);
          }
          commit(err);
          return;
        }
      }
      headers.set("Content-Length", Integer.toString(body.length));
      finish(new ClientResponse(r.status(), headers.toMap(), head ? new byte[0] : body, false));
    }

    private void finish(ClientResponse r) {
      response = r;
      done = true;
    }
  }

  private static final class Task {
    final boolean io;
    final Runnable task;

    Task(boolean io, Runnable task) {
      this.io = io;
      this.task = task;
    }
  }

  // ---------------------------------------------------------------- the exchange filters see

  private static final class Exchange implements ChainContext, DecisionSink {
    private final Run run;
    final HarnessRequest request;
    final Map<AttributeKey<?>, Object> attributes = new IdentityHashMap<>();
    final List<String> decisions = new ArrayList<>();
    private final InetSocketAddress client;
    private final long startNanos = System.nanoTime();
    volatile Throwable misuse;
    volatile boolean finished;
    private final List<Runnable> completions = new ArrayList<>(2);
    private final Executor blocking;

    Exchange(Run run, TestRequest client) {
      this.run = run;
      this.request = new HarnessRequest(client);
      this.client = client.client();
      this.blocking = task -> run.tasks.add(new Task(false, Objects.requireNonNull(task, "task")));
    }

    @Override
    public ProxyRequest request() {
      return request;
    }

    @Override
    public InetSocketAddress clientAddress() {
      return client;
    }

    @Override
    public InetSocketAddress localAddress() {
      return new InetSocketAddress("127.0.0.1", "https".equals(request.scheme()) ? 443 : 80);
    }

    @Override
    public String realClientIp() {
      return client.getAddress().getHostAddress();
    }

    @Override
    public boolean isSecure() {
      return "https".equals(request.scheme());
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> Optional<T> attribute(AttributeKey<T> key) {
      Objects.requireNonNull(key, "key");
      return Optional.ofNullable((T) attributes.get(key));
    }

    @Override
    public <T> void attribute(AttributeKey<T> key, T value) {
      Objects.requireNonNull(key, "key");
      if (value == null) {
        attributes.remove(key);
      } else {
        attributes.put(key, value);
      }
    }

    @Override
    public Executor blockingExecutor() {
      return blocking;
    }

    @Override
    public long startNanos() {
      return startNanos;
    }

    @Override
    public boolean isFinished() {
      return finished;
    }

    /** No TLS in the harness: no client certificate. */
    @Override
    public List<java.security.cert.X509Certificate> peerCertificates() {
      return List.of();
    }

    @Override
    public void onComplete(Runnable callback) {
      Objects.requireNonNull(callback, "callback");
      if (finished) {
        callback.run();
      } else {
        completions.add(callback);
      }
    }

    /** The run is over: completion callbacks run, in registration order, each isolated from the others. */
    void finish() {
      finished = true;
      for (Runnable r : completions) {
        try {
          r.run();
        } catch (RuntimeException e) {
          org.slf4j.LoggerFactory.getLogger(FilterHarness.class).warn("an onComplete callback failed", e);
        }
      }
      completions.clear();
    }

    @Override
    public boolean inIoThread() {
      return Thread.currentThread() == run.ioThread && !run.inBlockingTask;
    }

    @Override
    public void executeOnIoThread(Runnable task) {
      run.tasks.add(new Task(true, task));
    }

    @Override
    public SlowFilterCheck slowFilterCheck() {
      return null;
    }

    @Override
    public void misuse(Throwable t) {
      if (misuse == null) {
        misuse = t;
      }
    }

    @Override
    public void decision(String kind, String outcome, String detail) {
      decisions.add(detail.isEmpty() ? kind + " " + outcome : kind + " " + outcome + " " + detail);
    }

    @Override
    public String toString() {
      return "ProxyExchange(" + request + " from " + client + ", in memory)";
    }
  }

  // ---------------------------------------------------------------- what came out

  /** What one {@link #run()} produced. */
  public static final class Result {
    private final ClientResponse response;
    private final UpstreamRequest upstreamRequest;
    private final Throwable error;
    private final Map<AttributeKey<?>, Object> attributes;
    private final List<String> decisions;

    private Result(ClientResponse response, UpstreamRequest upstreamRequest, Throwable error,
        Map<AttributeKey<?>, Object> attributes, List<String> decisions) {
      this.response = response;
      this.upstreamRequest = upstreamRequest;
      this.error = error;
      this.attributes = new IdentityHashMap<>(attributes);
      this.decisions = decisions;
    }

    /** What the client gets. */
    public ClientResponse response() {
      return response;
    }

    /** What the upstream received; empty when no request reached it (a short-circuit, a refused body). */
    public Optional<UpstreamRequest> upstreamRequest() {
      return Optional.ofNullable(upstreamRequest);
    }

    /** Whether a request reached the upstream. */
    public boolean upstreamCalled() {
      return upstreamRequest != null;
    }

    /** The failure the error handler turned into the response (unwrapped), if any. */
    public Optional<Throwable> error() {
      return Optional.ofNullable(error);
    }

    /** The exchange attribute under {@code key} when the exchange ended. */
    @SuppressWarnings("unchecked")
    public <T> Optional<T> attribute(AttributeKey<T> key) {
      Objects.requireNonNull(key, "key");
      return Optional.ofNullable((T) attributes.get(key));
    }

    /**
     * The decisions filters reported with {@link dev.gatehouse.proxy.events.Decisions#report}, as
     * {@code kind outcome detail} (without the detail when it is empty), in order.
     */
    public List<String> decisions() {
      return decisions;
    }

    @Override
    public String toString() {
      return "Result(" + response + (upstreamRequest != null ? ", upstream got " + upstreamRequest : ", upstream not called")
          + ")";
    }
  }

  /** A response as the client receives it (status, fields, body), in memory. */
  public static final class ClientResponse {
    private final int status;
    private final Map<String, List<String>> headers;
    private final byte[] body;
    private final boolean fromUpstream;

    private ClientResponse(int status, Map<String, List<String>> headers, byte[] body, boolean fromUpstream) {
      this.status = status;
      this.headers = headers;
      this.body = body;
      this.fromUpstream = fromUpstream;
    }

    /** The status code. */
    public int status() {
      return status;
    }

    /** The header fields by name (as first set), read-only. */
    public Map<String, List<String>> headers() {
      return headers;
    }

    /** The first value of field {@code name} (case-insensitive). */
    public Optional<String> header(String name) {
      List<String> v = headerValues(headers, name);
      return v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
    }

    /** Every value of field {@code name} (case-insensitive). */
    public List<String> headers(String name) {
      return headerValues(headers, name);
    }

    /** The body (a copy). */
    public byte[] body() {
      return body.clone();
    }

    /** The body as UTF-8 text. */
    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    /** Whether the response came from the upstream (rather than a filter or the error handler). */
    public boolean fromUpstream() {
      return fromUpstream;
    }

    @Override
    public String toString() {
      return "ClientResponse(" + status + ", " + body.length + " bytes" + (fromUpstream ? ", from upstream" : "") + ")";
    }
  }

  /** A request as the upstream received it, in memory. */
  public static final class UpstreamRequest {
    private final String method;
    private final String path;
    private final String query;
    private final String authority;
    private final Map<String, List<String>> headers;
    private final byte[] body;

    private UpstreamRequest(String method, String path, String query, String authority,
        Map<String, List<String>> headers, byte[] body) {
      this.method = method;
      this.path = path;
      this.query = query;
      this.authority = authority;
      this.headers = headers;
      this.body = body;
    }

    /** The method. */
    public String method() {
      return method;
    }

    /** The raw path. */
    public String path() {
      return path;
    }

    /** The raw query without {@code ?}, or the empty string. */
    public String query() {
      return query;
    }

    /** The path and query as sent, e.g. {@code /a?b=1}. */
    public String pathAndQuery() {
      return query.isEmpty() ? path : path + "?" + query;
    }

    /** The authority the client asked for ({@code Host}). */
    public String authority() {
      return authority;
    }

    /** The header fields by name (as first set), read-only. */
    public Map<String, List<String>> headers() {
      return headers;
    }

    /** The first value of field {@code name} (case-insensitive). */
    public Optional<String> header(String name) {
      List<String> v = headerValues(headers, name);
      return v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
    }

    /** Every value of field {@code name} (case-insensitive). */
    public List<String> headers(String name) {
      return headerValues(headers, name);
    }

    /** The body, after the request body transformers (a copy). */
    public byte[] body() {
      return body.clone();
    }

    /** The body as UTF-8 text. */
    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return method + " " + pathAndQuery();
    }
  }

  private static List<String> headerValues(Map<String, List<String>> headers, String name) {
    Objects.requireNonNull(name, "name");
    for (Map.Entry<String, List<String>> e : headers.entrySet()) {
      if (e.getKey().equalsIgnoreCase(name)) {
        return e.getValue();
      }
    }
    return List.of();
  }

  @Override
  public String toString() {
    return "FilterHarness(" + filters.size() + " filter(s), " + request + ")";
  }
}
