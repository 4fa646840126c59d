package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.UpstreamUnavailableException;
import dev.gatehouse.proxy.cache.CacheStats;
import dev.gatehouse.proxy.cache.CacheStore;
import dev.gatehouse.proxy.cache.StoredResponse;
import dev.gatehouse.proxy.cache.UseStale;
import dev.gatehouse.proxy.internal.exchange.DetachedExchange;
import dev.gatehouse.proxy.internal.exchange.ExchangeImpl;
import dev.gatehouse.proxy.internal.exchange.ResponseImpl;
import dev.gatehouse.proxy.internal.upstream.BodyObserver;
import dev.gatehouse.proxy.internal.upstream.BodySource;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.XnioExecutor;

/**
 * The cache step: runs between the last filter and the upstream call of an exchange, answers from the
 * store what RFC 9111 lets a shared cache answer, and stores what it may of the rest. Everything runs
 * on the exchange's I/O thread; store stages that complete elsewhere are moved back onto it.
 *
 * <p>Per request: look the key up; pick the most recent stored variant the request selects (§4.1);
 * serve it when fresh (or stale where allowed), answering conditionals and ranges from it; validate it
 * upstream when it must be (collapsing concurrent validations); on a miss, fetch (collapsing concurrent
 * misses into one upstream request whose body streams to every waiter) and store it while it streams
 * to its client.
 *
 * <p>Why one class of this size: RFC 9111's request flow (lookup, selection, serving, validation, collapsing,
 * fill) passes one request's state from stage to stage; the stores, the policy, the directive parsing and the
 * fill are classes of their own.
 */
public final class CacheEngine {
  private static final Logger log = LoggerFactory.getLogger(CacheEngine.class);
  private static final HttpString CACHE_STATUS = new HttpString("Cache-Status");
  /** Most keys remembered as not storable (hit-for-miss); beyond it the expired ones are dropped. */
  private static final int MAX_UNCACHEABLE = 100_000;
  private static final BodySource NO_BODY = new BodySource() {
    @Override
    public long length() {
      return 0;
    }

    @Override
    public ByteBuffer next(Runnable wakeup) {
      return END;
    }

    @Override
    public void close() {
      // nothing held
    }
  };

  /** The body of a HEAD response: never read, only its length counts ({@code Content-Length}). */
  private static BodySource headOnly(long length) {
    return new BodySource() {
      @Override
      public long length() {
        return length;
      }

      @Override
      public ByteBuffer next(Runnable wakeup) {
        return END;
      }

      @Override
      public void close() {
        // nothing held
      }
    };
  }

  private final CacheSettings s;
  private final CacheStore store;
  private final ConcurrentHashMap<String, Fill> fills = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Long> uncacheable = new ConcurrentHashMap<>();
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder staleHits = new LongAdder();
  private final LongAdder revalidations = new LongAdder();
  private final LongAdder collapsed = new LongAdder();

  public CacheEngine(CacheSettings settings) {
    this.s = settings;
    this.store = settings.store();
  }

  public CacheSettings settings() {
    return s;
  }

  /** The counters and what the store holds. */
  public CacheStats stats() {
    return new CacheStats(hits.sum(), misses.sum(), staleHits.sum(), revalidations.sum(), collapsed.sum(),
        store.size(), store.count(), store.evictions());
  }

  public CompletionStage<Long> purgeKey(String key) {
    uncacheable.remove(key);
    return store.remove(key);
  }

  public CompletionStage<Long> purgeTag(String tag) {
    return store.removeTagged(tag);
  }

  public CompletionStage<Long> purgeAll() {
    uncacheable.clear();
    return store.clear();
  }

  public void close() {
    store.close();
  }

  // ---------------------------------------------------------------- the step

  /** {@code terminal} with this cache in front of it (for builders that do not place the cache themselves). */
  public dev.gatehouse.proxy.spi.Terminal around(dev.gatehouse.proxy.spi.Terminal terminal) {
    return exchange -> handle((ExchangeImpl) exchange, terminal::handle);
  }

  /**
   * Handles {@code ex} (on its I/O thread); {@code upstream} sends a request upstream, the client's own
   * or a detached one made for a background revalidation, and must not depend on anything but the
   * exchange it is given.
   */
  public CompletionStage<ProxyResponse> handle(ExchangeImpl ex,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream) {
    String method = ex.request().method();
    boolean get = "GET".equals(method);
    if (!get && !"HEAD".equals(method)) {
      return other(ex, method, upstream);
    }
    if (ex.wantsUpgrade()) {
      return bypass(ex, upstream);
    }
    CacheRequest req;
    CompletionStage<List<StoredResponse>> found;
    try {
      req = CacheRequest.of(ex, s);
      if (req.originPreconditions) {
        return bypass(ex, upstream);
      }
      found = store.lookup(req.key);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<List<StoredResponse>> f = found.toCompletableFuture();
    if (f.isDone() && !f.isCompletedExceptionally()) {
      return onLookup(ex, req, f.getNow(List.of()), upstream); // the in-memory store: no hop, no wait
    }
    return compose(ex, f, (list, err) -> {
      if (err != null) {
        log.warn("cache store lookup of {} failed; treated as a miss: {}", req.key, err.toString());
        list = List.of();
      }
      return onLookup(ex, req, list, upstream);
    });
  }

  /** Looks the key up once more (a fill completed before a waiter could join it: it is stored now). */
  private CompletionStage<ProxyResponse> lookupAgain(ExchangeImpl ex, CacheRequest req,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream) {
    CompletableFuture<List<StoredResponse>> f;
    try {
      f = store.lookup(req.key).toCompletableFuture();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    return compose(ex, f, (list, err) -> onLookup(ex, req, err != null ? List.of() : list, upstream));
  }

  private enum Use { FRESH, STALE, STALE_WHILE_REVALIDATE, UPDATING, VALIDATE_REQUEST, VALIDATE_STALE }

  private CompletionStage<ProxyResponse> onLookup(ExchangeImpl ex, CacheRequest req, List<StoredResponse> list,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream) {
    StoredResponse sel = null;
    Policy selPolicy = null;
    for (int i = 0; i < list.size(); i++) {
      StoredResponse r = list.get(i);
      Policy p = Policy.of(r, s);
      if (p.varyStar() || !r.variant().equals(Variants.of(p.vary, req.headers))) {
        continue;
      }
      if (sel == null || r.responseTime().isAfter(sel.responseTime())) {
        sel = r;
        selPolicy = p;
      }
    }
    if (sel == null) {
      return miss(ex, req, upstream, list.isEmpty() ? "uri-miss" : "vary-miss");
    }
    Instant now = s.clock().instant();
    long age = Policy.currentAge(sel, now);
    long ttl = selPolicy.lifetime - age;
    Use use = use(req, selPolicy, age, ttl);
    switch (use) {
      case FRESH:
        return serve(ex, req, sel, selPolicy, age, status().hit().ttl(ttl), upstream, Served.HIT);
      case STALE:
        return serve(ex, req, sel, selPolicy, age, status().hit().ttl(ttl).detail("max-stale"), upstream, Served.STALE);
      case STALE_WHILE_REVALIDATE:
      case UPDATING:
        backgroundRevalidate(ex, req, sel, selPolicy, upstream);
        return serve(ex, req, sel, selPolicy, age, status().hit().ttl(ttl)
            .detail(use == Use.UPDATING ? "updating" : "stale-while-revalidate"), upstream, Served.STALE);
      default:
        if (req.cc.onlyIfCached) {
          return completed(gatewayTimeout("only-if-cached"));
        }
        return validate(ex, req, sel, selPolicy, upstream, use == Use.VALIDATE_REQUEST ? "request" : "stale");
    }
  }

  /** Whether and how a stored response may answer the request (RFC 9111 §4, §4.2.4, RFC 5861, RFC 8246). */
  private Use use(CacheRequest req, Policy p, long age, long ttl) {
    if (req.cc.noCache) {
      return Use.VALIDATE_REQUEST;
    }
    if (p.alwaysValidate()) {
      return Use.VALIDATE_STALE;
    }
    boolean ageOk = req.cc.maxAge < 0 || age <= req.cc.maxAge;
    if (ttl > 0) {
      boolean freshEnough = req.cc.minFresh < 0 || ttl >= req.cc.minFresh;
      // an immutable response does not change while fresh: a reload's max-age=0 need not reach the origin
      return (ageOk || p.cc.immutable) && freshEnough ? Use.FRESH : Use.VALIDATE_REQUEST;
    }
    long staleness = -ttl;
    if (!p.noStaleServing() && ageOk && req.cc.minFresh < 0) {
      if (req.cc.maxStale >= 0 && staleness <= req.cc.maxStale) {
        return Use.STALE;
      }
      if (p.cc.staleWhileRevalidate >= 0 && staleness <= p.cc.staleWhileRevalidate) {
        return Use.STALE_WHILE_REVALIDATE;
      }
      if (s.useStale().contains(UseStale.UPDATING) && staleness <= s.useStaleLimit().getSeconds()) {
        return Use.UPDATING;
      }
    }
    return Use.VALIDATE_STALE;
  }

  private enum Served { HIT, STALE, STALE_ON_ERROR, VALIDATED, COLLAPSED }

  /**
   * Answers from a stored response: 304 for a matching conditional, 206/416 for a range of a stored
   * 200, the headers only for HEAD, else the whole body read from the store.
   */
  private CompletionStage<ProxyResponse> serve(ExchangeImpl ex, CacheRequest req, StoredResponse sel, Policy p,
      long age, CacheStatus status, Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream, Served kind) {
    if (req.conditional() && Conditionals.notModified(req.ifNoneMatch, req.ifModifiedSince, p.etag, p.lastModified(),
        p.date())) {
      count(kind);
      return completed(response(304, sel, age, status, NO_BODY, true));
    }
    long length = sel.bodyLength();
    if (req.isHead()) {
      count(kind);
      return completed(response(sel.status(), sel, age, status, headOnly(length), false));
    }
    ByteRange range = null;
    if (req.range != null && sel.status() == 200
        && (req.ifRange == null || Conditionals.ifRangeHolds(req.ifRange, p.etag, p.lastModifiedText, p.lastModified()))) {
      range = ByteRange.parse(req.range, length);
    }
    if (range == ByteRange.UNSATISFIABLE) {
      count(kind);
      ProxyResponse r = ProxyResponse.of(416, "Range Not Satisfiable\n");
      ResponseImpl.headerMap(r).put(Headers.CONTENT_RANGE, "bytes */" + length);
      ResponseImpl.headerMap(r).add(CACHE_STATUS, status.toString());
      return completed(r);
    }
    long from = range == null ? 0 : range.first;
    long to = range == null ? length : range.last + 1;
    int responseStatus = range == null ? sel.status() : 206;
    ByteRange served = range;
    if (to <= from) {
      count(kind);
      return completed(response(responseStatus, sel, age, status, NO_BODY, false));
    }
    // Read the first chunk before answering: a response evicted since the lookup is then a miss, not a
    // cut body.
    CompletableFuture<ByteBuffer> first;
    try {
      first = store.read(sel, from, (int) Math.min(StoreSource.CHUNK, to - from)).toCompletableFuture();
    } catch (RuntimeException e) {
      first = CompletableFuture.failedFuture(e);
    }
    Function<ByteBuffer, ProxyResponse> answer = b -> {
      count(kind);
      ProxyResponse r = response(responseStatus, sel, age, status, new StoreSource(store, sel, from, to, b), false);
      if (served != null) {
        ResponseImpl.headerMap(r).put(Headers.CONTENT_RANGE, "bytes " + served.first + "-" + served.last + "/" + length);
      }
      return r;
    };
    if (first.isDone() && !first.isCompletedExceptionally()) {
      return completed(answer.apply(first.getNow(null)));
    }
    return compose(ex, first, (b, err) -> {
      if (err != null) {
        log.debug("stored body of {} unreadable, fetching again: {}", sel.key(), err.toString());
        return miss(ex, req, upstream, "uri-miss");
      }
      return completed(answer.apply(b));
    });
  }

  private void count(Served kind) {
    switch (kind) {
      case HIT:
        hits.increment();
        break;
      case STALE:
        hits.increment();
        staleHits.increment();
        break;
      case STALE_ON_ERROR:
        staleHits.increment();
        break;
      default:
        break;
    }
  }

  /** Fields a 304 carries (RFC 9110 §15.4.5): those that guide caches, not the representation's metadata. */
  private static boolean keptOn304(String lower) {
    switch (lower) {
      case "cache-control":
      case "content-location":
      case "date":
      case "etag":
      case "expires":
      case "vary":
      case "last-modified":
      case "cdn-cache-control":
      case "cache-status":
      case "via":
        return true;
      default:
        return false;
    }
  }

  private ProxyResponse response(int status, StoredResponse m, long age, CacheStatus cacheStatus, BodySource body,
      boolean notModified) {
    HeaderMap h = new HeaderMap();
    List<Map.Entry<String, String>> headers = m.headers();
    for (int i = 0; i < headers.size(); i++) {
      Map.Entry<String, String> e = headers.get(i);
      if (notModified && !keptOn304(e.getKey().toLowerCase(Locale.ROOT))) {
        continue;
      }
      h.add(HttpString.tryFromString(e.getKey()), e.getValue());
    }
    h.put(Headers.AGE, Long.toString(Math.min(age, CacheControl.MAX_DELTA)));
    h.add(CACHE_STATUS, cacheStatus.toString());
    return ResponseImpl.served(status, h, body, "HTTP/1.1");
  }

  // ---------------------------------------------------------------- misses and collapsing

  private CompletionStage<ProxyResponse> miss(ExchangeImpl ex, CacheRequest req,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream, String kind) {
    if (req.cc.onlyIfCached) {
      return completed(gatewayTimeout("only-if-cached"));
    }
    misses.increment();
    if (!collapsible(req)) {
      return fetch(ex, req, upstream, null, kind, null);
    }
    Fill fill = new Fill(req.key);
    Fill existing = fills.putIfAbsent(req.key, fill);
    if (existing != null) {
      misses.decrement(); // it waits instead
      return follow(ex, req, existing, upstream, kind);
    }
    return fetch(ex, req, upstream, fill, kind, null);
  }

  private boolean collapsible(CacheRequest req) {
    if (s.collapseTimeout().isZero() || req.range != null || req.cc.noStore) {
      return false;
    }
    Long until = uncacheable.get(req.key);
    if (until == null) {
      return true;
    }
    if (s.clock().millis() < until) {
      return false;
    }
    uncacheable.remove(req.key, until);
    return true;
  }

  /** Waits for another exchange's fetch of the key, at most collapseTimeout for its head. */
  private CompletionStage<ProxyResponse> follow(ExchangeImpl ex, CacheRequest req, Fill fill,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream, String kind) {
    collapsed.increment();
    CompletableFuture<ProxyResponse> result = new CompletableFuture<>();
    AtomicBoolean decided = new AtomicBoolean();
    XnioExecutor.Key[] timer = new XnioExecutor.Key[1];
    Consumer<Fill> waiter = f -> {
      // join the body now, on the fetching thread: by the time this waiter's own thread runs, the fill
      // may be complete and no longer joinable
      Fill.Follower made = null;
      Fill.State state = f.state();
      if ((state == Fill.State.STREAMING || state == Fill.State.COMPLETE) && !req.isHead()
          && f.head().variant().equals(Variants.of(f.policy().vary, req.headers))) {
        made = f.follow();
      }
      Fill.Follower follower = made;
      onIo(ex, () -> {
        if (!decided.compareAndSet(false, true)) {
          if (follower != null) {
            follower.close();
          }
          return;
        }
        if (timer[0] != null) {
          timer[0].remove();
        }
        completeWith(result, () -> onOutcome(ex, req, f, follower, upstream, kind));
      });
    };
    timer[0] = ex.ioThread().executeAfter(() -> {
      if (decided.compareAndSet(false, true)) {
        fill.forget(waiter);
        log.debug("{}: waited collapseTimeout for {}; going upstream alone", ex, req.key);
        completeWith(result, () -> fetch(ex, req, upstream, null, kind, null));
      }
    }, s.collapseTimeout().toNanos(), TimeUnit.NANOSECONDS);
    fill.await(waiter);
    return result;
  }

  private CompletionStage<ProxyResponse> onOutcome(ExchangeImpl ex, CacheRequest req, Fill fill,
      Fill.Follower follower, Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream, String kind) {
    if (ex.isFinished()) {
      if (follower != null) {
        follower.close();
      }
      return CompletableFuture.failedFuture(new CancellationException("client gone while waiting"));
    }
    Fill.State state = fill.state();
    StoredResponse head = fill.head();
    Policy p = fill.policy();
    if (state == Fill.State.REVALIDATED) {
      long age = Policy.currentAge(head, s.clock().instant());
      return serve(ex, req, head, p, age, status().fwd("stale").fwdStatus(304).ttl(p.lifetime - age).collapsed(),
          upstream, Served.COLLAPSED);
    }
    if ((state == Fill.State.STREAMING || state == Fill.State.COMPLETE)
        && head.variant().equals(Variants.of(p.vary, req.headers))) {
      long age = Policy.currentAge(head, s.clock().instant());
      CacheStatus st = status().fwd(kind).fwdStatus(fill.status()).ttl(p.lifetime - age).collapsed();
      if (req.conditional() && Conditionals.notModified(req.ifNoneMatch, req.ifModifiedSince, p.etag, p.lastModified(),
          p.date())) {
        if (follower != null) {
          follower.close();
        }
        return completed(response(304, head, age, st, NO_BODY, true));
      }
      if (req.isHead()) {
        return completed(response(head.status(), head, age, st, headOnly(head.bodyLength()), false));
      }
      if (follower != null) {
        return completed(response(head.status(), head, age, st, follower, false));
      }
      if (state == Fill.State.COMPLETE) {
        return lookupAgain(ex, req, upstream); // stored meanwhile
      }
    }
    return fetch(ex, req, upstream, null, kind, null);
  }

  /**
   * Sends the client's request upstream ({@code fill} non-null: others wait for it), and stores the
   * response if it may be stored while it streams to the client.
   */
  private CompletionStage<ProxyResponse> fetch(ExchangeImpl ex, CacheRequest req,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream, Fill fill, String kind, StoredResponse replaced) {
    if (req.isHead() && !req.cc.noStore) {
      ex.request().method("GET"); // fetch the whole response so it can be stored; the client gets the head
    }
    Instant requestTime = s.clock().instant();
    CompletionStage<ProxyResponse> sent;
    try {
      sent = upstream.apply(ex);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    return compose(ex, sent.toCompletableFuture(), (r, err) -> {
      if (err != null) {
        if (fill != null) {
          end(fill);
        }
        return CompletableFuture.failedFuture(err);
      }
      return completed(onFetched(ex, req, r, fill, requestTime, kind, replaced));
    });
  }

  /** A fresh upstream response: stored (and followed by waiters) if it may be, passed on either way. */
  private ProxyResponse onFetched(ExchangeImpl ex, CacheRequest req, ProxyResponse r, Fill fill, Instant requestTime,
      String kind, StoredResponse replaced) {
    CacheStatus st = status().fwd(kind).fwdStatus(r.status());
    if (!ResponseImpl.hasCall(r) || ResponseImpl.call(r).upgraded()) {
      if (fill != null) {
        end(fill);
      }
      r.headers().add("Cache-Status", st.toString());
      return r;
    }
    ProxyResponse ri = r;
    Instant responseTime = s.clock().instant();
    Storability.Candidate c = Storability.of(req, r.status(), ResponseImpl.headerMap(ri), requestTime, responseTime, s);
    CacheStore.Writer writer = null;
    if (c.refusal() == null) {
      try {
        writer = store.writer(c.response());
      } catch (RuntimeException e) {
        log.warn("cache store refused a writer for {}: {}", req.key, e.toString());
      }
    }
    if (writer != null) {
      uncacheable.remove(req.key);
      if (fill != null) {
        fill.streaming(c.response(), c.policy(), r.status());
      }
      ResponseImpl.observeBody(ri, new Tee(req.key, fill, writer));
      st.stored().ttl(c.policy().lifetime - c.response().initialAge().getSeconds());
    } else {
      if (fill != null) {
        end(fill);
      }
      if (c.refusal() != null) {
        st.detail(c.refusal());
        if (!Storability.perRequest(c.refusal()) && !s.hitForMiss().isZero()) {
          rememberUncacheable(req.key);
        }
      }
      if (replaced != null && r.status() < 500 && (c.refusal() == null || !Storability.perRequest(c.refusal()))) {
        store.remove(replaced); // the stored response is outdated and its successor is not stored
      }
    }
    if (s.surrogateKeyField() != null) {
      ResponseImpl.headerMap(ri).remove(s.surrogateKeyField());
    }
    ResponseImpl.headerMap(ri).add(CACHE_STATUS, st.toString());
    return ri;
  }

  private void rememberUncacheable(String key) {
    if (uncacheable.size() >= MAX_UNCACHEABLE) {
      long now = s.clock().millis();
      uncacheable.values().removeIf(until -> until <= now);
      if (uncacheable.size() >= MAX_UNCACHEABLE) {
        uncacheable.clear();
      }
    }
    uncacheable.put(key, s.clock().millis() + s.hitForMiss().toMillis());
  }

  /** Ends a fill nobody will follow: its waiters go upstream alone. */
  private void end(Fill fill) {
    fills.remove(fill.key, fill);
    fill.release();
  }

  /** Copies the body as it streams into the store and to the fill's followers. */
  private final class Tee implements BodyObserver {
    private final String key;
    private final Fill fill;
    private CacheStore.Writer writer;
    private long total;

    Tee(String key, Fill fill, CacheStore.Writer writer) {
      this.key = key;
      this.fill = fill;
      this.writer = writer;
    }

    @Override
    public void onData(ByteBuffer chunk) {
      int n = chunk.remaining();
      total += n;
      if (writer != null && total > s.maxObjectSize()) {
        log.debug("{} outgrew maxObjectSize {}; not stored", key, s.maxObjectSize());
        writer.abort();
        writer = null;
        if (fill != null) {
          fills.remove(key, fill);
          fill.stopJoining();
        }
      }
      if (writer == null && (fill == null || !fill.wanted())) {
        return;
      }
      ByteBuffer copy = ByteBuffer.allocate(n);
      copy.put(chunk.duplicate()).flip();
      if (writer != null) {
        writer.write(copy.duplicate());
      }
      if (fill != null) {
        fill.append(copy);
      }
    }

    @Override
    public void onComplete() {
      if (fill != null) {
        fill.complete();
      }
      if (writer == null) {
        if (fill != null) {
          fills.remove(key, fill);
          fill.stopJoining();
        }
        return;
      }
      CacheStore.Writer w = writer;
      writer = null;
      CompletionStage<StoredResponse> committed;
      try {
        committed = w.commit();
      } catch (RuntimeException e) {
        committed = CompletableFuture.failedFuture(e);
      }
      committed.whenComplete((stored, e) -> {
        if (e != null) {
          log.debug("{} not stored: {}", key, e.toString());
        }
        if (fill != null) {
          fills.remove(key, fill);
          fill.stopJoining();
        }
      });
    }

    @Override
    public boolean wantsRest() {
      return writer != null || (fill != null && fill.hasFollowers());
    }

    @Override
    public void onAbort() {
      if (writer != null) {
        writer.abort();
        writer = null;
      }
      if (fill != null) {
        fills.remove(key, fill);
        fill.cut();
      }
    }
  }

  // ---------------------------------------------------------------- validation

  /** Validates a stored response upstream for the client (collapsing concurrent validations). */
  private CompletionStage<ProxyResponse> validate(ExchangeImpl ex, CacheRequest req, StoredResponse sel, Policy p,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream, String why) {
    Fill fill = null;
    if (!s.collapseTimeout().isZero() && req.range == null) {
      fill = new Fill(req.key);
      Fill existing = fills.putIfAbsent(req.key, fill);
      if (existing != null) {
        return follow(ex, req, existing, upstream, why);
      }
    }
    revalidations.increment();
    Fill f = fill;
    withValidators(ex.request().headers(), p);
    if (req.isHead()) {
      ex.request().method("GET");
    }
    Instant requestTime = s.clock().instant();
    CompletionStage<ProxyResponse> sent;
    try {
      sent = upstream.apply(ex);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    return compose(ex, sent.toCompletableFuture(), (r, err) -> {
      Instant now = s.clock().instant();
      long staleness = Math.max(0, Policy.currentAge(sel, now) - p.lifetime);
      if (err != null) {
        if (f != null) {
          end(f);
        }
        Throwable e = unwrap(err);
        UseStale condition = e instanceof UpstreamTimeoutException ? UseStale.TIMEOUT
            : e instanceof UpstreamConnectException || e instanceof UpstreamResponseException
                || e instanceof UpstreamUnavailableException ? UseStale.ERROR : null;
        if (condition == null) {
          return CompletableFuture.failedFuture(e);
        }
        if (staleOnError(req, p, staleness, condition)) {
          log.debug("{}: upstream failed ({}); serving stale {}", ex, e.getMessage(), sel.key());
          return serve(ex, req, sel, p, Policy.currentAge(sel, now),
              status().fwd(why).ttl(-staleness).detail("stale-if-error"), upstream, Served.STALE_ON_ERROR);
        }
        if (p.cc.mustRevalidate || p.cc.proxyRevalidate || p.cc.sMaxAge >= 0) {
          return completed(gatewayTimeout("must-revalidate")); // §5.2.2.2: 504 when it cannot be validated
        }
        return CompletableFuture.failedFuture(e);
      }
      if (r.status() == 304 && ResponseImpl.hasCall(r)) {
        ProxyResponse ri = r;
        StoredResponse refreshed = refresh(sel, p, ResponseImpl.headerMap(ri), requestTime, now);
        ResponseImpl.discardBody(ri);
        Policy rp = Policy.of(refreshed, s);
        if (f != null) {
          fills.remove(f.key, f);
          f.revalidated(refreshed, rp);
        }
        long age = Policy.currentAge(refreshed, now);
        return serve(ex, req, refreshed, rp, age, status().fwd(why).fwdStatus(304).ttl(rp.lifetime - age),
            upstream, Served.VALIDATED);
      }
      int code = r.status();
      UseStale condition = code == 500 ? UseStale.HTTP_500 : code == 502 ? UseStale.HTTP_502
          : code == 503 ? UseStale.HTTP_503 : code == 504 ? UseStale.HTTP_504 : null;
      if (condition != null && staleOnError(req, p, staleness, condition)) {
        if (f != null) {
          end(f);
        }
        discard(r);
        return serve(ex, req, sel, p, Policy.currentAge(sel, now),
            status().fwd(why).fwdStatus(code).ttl(-staleness).detail("stale-if-error"), upstream, Served.STALE_ON_ERROR);
      }
      return completed(onFetched(ex, req, r, f, requestTime, why, sel));
    });
  }

  /** The stored response freshened by a 304, written back to the store (in the background). */
  private StoredResponse refresh(StoredResponse sel, Policy p, HeaderMap notModified, Instant requestTime,
      Instant responseTime) {
    String etag = notModified.getFirst(Headers.ETAG);
    if (etag != null && p.etag != null && !Conditionals.matchesAny(p.etag, etag, false)) {
      // a 304 for another representation (§4.3.4): this one is not freshened, and is dropped
      store.remove(sel);
      return sel;
    }
    StoredResponse refreshed = Storability.refreshed(sel, notModified, requestTime, responseTime, s);
    store.update(sel, refreshed).whenComplete((ok, e) -> {
      if (e != null) {
        log.debug("freshening {} in the store failed: {}", sel.key(), e.toString());
      }
    });
    return refreshed;
  }

  /** stale-if-error (response or request, RFC 5861) or the use-stale switch allows serving stale. */
  private boolean staleOnError(CacheRequest req, Policy p, long staleness, UseStale condition) {
    if (p.noStaleServing()) {
      return false;
    }
    if (p.cc.staleIfError >= 0 && staleness <= p.cc.staleIfError) {
      return true;
    }
    if (req.cc.staleIfError >= 0 && staleness <= req.cc.staleIfError) {
      return true;
    }
    return s.useStale().contains(condition) && staleness <= s.useStaleLimit().getSeconds();
  }

  /**
   * Revalidates a stale response that is being served meanwhile (stale-while-revalidate), on a detached
   * exchange: one at a time per key.
   */
  private void backgroundRevalidate(ExchangeImpl ex, CacheRequest req, StoredResponse sel, Policy p,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream) {
    Fill fill = new Fill(req.key);
    if (fills.putIfAbsent(req.key, fill) != null) {
      return; // one is under way
    }
    revalidations.increment();
    ExchangeImpl d;
    CompletionStage<ProxyResponse> sent;
    Instant requestTime = s.clock().instant();
    try {
      HeaderMap headers = new HeaderMap();
      for (HeaderValues hv : ex.requestImpl().headerMap().map()) {
        headers.putAll(hv.getHeaderName(), hv);
      }
      d = DetachedExchange.from(ex, "GET", headers);
      withValidators(d.request().headers(), p);
      d.request().headers().remove("Cache-Control").remove("Pragma");
      sent = upstream.apply(d);
    } catch (RuntimeException e) {
      log.warn("background revalidation of {} could not start: {}", req.key, e.toString());
      end(fill);
      return;
    }
    sent.whenComplete((r, err) -> onIo(ex, () -> {
      if (err != null) {
        log.debug("background revalidation of {} failed: {}", req.key, unwrap(err).toString());
        end(fill);
        return;
      }
      if (!ResponseImpl.hasCall(r)) {
        end(fill);
        return;
      }
      ProxyResponse ri = r;
      Instant now = s.clock().instant();
      if (r.status() == 304) {
        StoredResponse refreshed = refresh(sel, p, ResponseImpl.headerMap(ri), requestTime, now);
        ResponseImpl.discardBody(ri);
        fills.remove(fill.key, fill);
        fill.revalidated(refreshed, Policy.of(refreshed, s));
        return;
      }
      if (r.status() >= 500) {
        end(fill); // keep serving what is stored
        ResponseImpl.discardBody(ri);
        return;
      }
      Storability.Candidate c = Storability.of(req, r.status(), ResponseImpl.headerMap(ri), requestTime, now, s);
      CacheStore.Writer writer = null;
      if (c.refusal() == null) {
        try {
          writer = store.writer(c.response());
        } catch (RuntimeException e) {
          log.warn("cache store refused a writer for {}: {}", req.key, e.toString());
        }
      }
      if (writer == null) {
        end(fill);
        store.remove(sel);
        ResponseImpl.call(ri).abort();
        return;
      }
      fill.streaming(c.response(), c.policy(), r.status());
      ResponseImpl.observeBody(ri, new Tee(req.key, fill, writer));
      ResponseImpl.discardBody(ri);
    }));
  }

  // ---------------------------------------------------------------- other methods

  /** Unsafe methods invalidate the target URI and same-origin Location / Content-Location (§4.4). */
  private CompletionStage<ProxyResponse> other(ExchangeImpl ex, String method,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream) {
    boolean safe = method.equals("OPTIONS") || method.equals("TRACE") || method.equals("CONNECT");
    String key;
    try {
      key = safe ? null : CacheRequest.of(ex, s).key;
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return bypass(ex, upstream, r -> {
      if (key != null && r.status() < 400 && r.status() >= 200) {
        invalidate(key, r);
      }
    });
  }

  private void invalidate(String key, ProxyResponse r) {
    remove(key);
    for (String field : new String[] {"Location", "Content-Location"}) {
      String v = r.headers().get(field).orElse(null);
      if (v == null) {
        continue;
      }
      try {
        URI base = URI.create(key);
        URI target = base.resolve(v.trim());
        if (base.getScheme() != null && base.getScheme().equalsIgnoreCase(target.getScheme())
            && base.getRawAuthority() != null && base.getRawAuthority().equalsIgnoreCase(target.getRawAuthority())) {
          remove(CacheKeys.keyOf(target));
        }
      } catch (IllegalArgumentException e) {
        // not a URI (or a custom key): nothing else to invalidate
      }
    }
  }

  private void remove(String key) {
    store.remove(key).whenComplete((n, e) -> {
      if (e != null) {
        log.debug("invalidating {} failed: {}", key, e.toString());
      }
    });
  }

  private CompletionStage<ProxyResponse> bypass(ExchangeImpl ex,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream) {
    return bypass(ex, upstream, r -> { });
  }

  private CompletionStage<ProxyResponse> bypass(ExchangeImpl ex,
      Function<ExchangeImpl, CompletionStage<ProxyResponse>> upstream, Consumer<ProxyResponse> then) {
    CompletionStage<ProxyResponse> sent;
    try {
      sent = upstream.apply(ex);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return sent.thenApply(r -> {
      then.accept(r);
      if (!ResponseImpl.hasCall(r) || !ResponseImpl.call(r).upgraded()) {
        r.headers().add("Cache-Status", status().fwd("bypass").fwdStatus(r.status()).toString());
      }
      return r;
    });
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Makes the request a validation of a stored response (§4.3.1): the client's own preconditions and
   * range go (the cache answers them from the validated response), the stored validators come in.
   */
  private static void withValidators(dev.gatehouse.proxy.HttpHeaders h, Policy p) {
    h.remove("If-None-Match").remove("If-Modified-Since").remove("If-Range").remove("Range");
    if (p.etag != null) {
      h.set("If-None-Match", p.etag);
    }
    if (p.lastModifiedText != null) {
      h.set("If-Modified-Since", p.lastModifiedText);
    }
  }

  private CacheStatus status() {
    return CacheStatus.of(s.name());
  }

  private ProxyResponse gatewayTimeout(String detail) {
    ProxyResponse r = ProxyResponse.of(504, "Gateway Timeout\n");
    r.headers().add("Cache-Status", status().detail(detail).toString());
    return r;
  }

  private static void discard(ProxyResponse r) {
    if (ResponseImpl.hasCall(r)) {
      ResponseImpl.discardBody(r);
    }
  }

  private static <T> CompletionStage<T> completed(T value) {
    return CompletableFuture.completedFuture(value);
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** Runs {@code task} on the exchange's I/O thread (at once if already on it). */
  private static void onIo(ExchangeImpl ex, Runnable task) {
    if (ex.inIoThread()) {
      task.run();
    } else {
      try {
        ex.ioThread().execute(task);
      } catch (RuntimeException e) {
        log.debug("{}: I/O thread gone: {}", ex, e.toString());
      }
    }
  }

  /** Continues with {@code fn} on the exchange's I/O thread once {@code f} is done. */
  private static <T> CompletionStage<ProxyResponse> compose(ExchangeImpl ex, CompletableFuture<T> f,
      java.util.function.BiFunction<T, Throwable, CompletionStage<ProxyResponse>> fn) {
    CompletableFuture<ProxyResponse> out = new CompletableFuture<>();
    f.whenComplete((v, e) -> onIo(ex, () -> completeWith(out, () -> fn.apply(v, e == null ? null : unwrap(e)))));
    return out;
  }

  private static void completeWith(CompletableFuture<ProxyResponse> out, Supplier<CompletionStage<ProxyResponse>> s) {
    CompletionStage<ProxyResponse> next;
    try {
      next = s.get();
    } catch (RuntimeException e) {
      out.completeExceptionally(e);
      return;
    }
    next.whenComplete((v, e) -> {
      if (e != null) {
        out.completeExceptionally(unwrap(e));
      } else {
        out.complete(v);
      }
    });
  }
}
