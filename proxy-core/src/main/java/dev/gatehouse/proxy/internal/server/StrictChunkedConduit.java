package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.internal.http1.ChunkedDecoder;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.Connectors;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpServerConnection;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.TimeUnit;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.conduits.AbstractStreamSourceConduit;
import org.xnio.conduits.ConduitReadableByteChannel;
import org.xnio.conduits.Conduits;
import org.xnio.conduits.StreamSourceConduit;

/**
 * A strict replacement for Undertow's chunked request decoder, which is lenient: it reads a chunk size
 * without hex digits as 0 (the last chunk), skips any bytes before a chunk's closing LF and accepts bare
 * LF. A proxy that reads framing differently from the client (or a proxy in front of it) lets requests
 * be smuggled, so invalid framing here is an {@link IOException} answered with 400, and the upstream,
 * which gets the proxy's own framing, never sees a complete request.
 *
 * <p>Sits directly on the connection's raw conduit, serves the bytes Undertow read past the head first,
 * and pushes back whatever follows the body (a pipelined request) when the last chunk has been read.
 */
final class StrictChunkedConduit extends AbstractStreamSourceConduit<StreamSourceConduit> {
  private final HttpServerConnection connection;
  private final HttpServerExchange exchange;
  private final ChunkedDecoder decoder = new ChunkedDecoder();
  private PooledByteBuffer raw;
  private boolean done;
  private boolean failed;

  private StrictChunkedConduit(HttpServerConnection connection, HttpServerExchange exchange) {
    super(connection.getOriginalSourceConduit());
    this.connection = connection;
    this.exchange = exchange;
    this.raw = connection.getExtraBytes();
    connection.setExtraBytes(null);
  }

  /** Puts the strict decoder under a chunked HTTP/1.x request's body. */
  static void install(HttpServerExchange exchange) {
    if (exchange.getConnection() instanceof HttpServerConnection) {
      HttpServerConnection c = (HttpServerConnection) exchange.getConnection();
      c.getChannel().getSourceChannel().setConduit(new StrictChunkedConduit(c, exchange));
    }
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    if (done) {
      return -1;
    }
    if (failed) {
      throw new IOException("request body framing already failed");
    }
    int total = 0;
    while (dst.hasRemaining()) {
      if (raw == null || !raw.getBuffer().hasRemaining()) {
        if (raw != null) {
          raw.close();
          raw = null;
        }
        PooledByteBuffer p = connection.getByteBufferPool().allocate();
        int n;
        try {
          n = next.read(p.getBuffer());
        } catch (IOException e) {
          p.close();
          throw e;
        }
        if (n <= 0) {
          p.close();
          if (n < 0) {
            fail();
            throw new IOException("client closed the connection in the middle of a chunked body");
          }
          return total;
        }
        p.getBuffer().flip();
        raw = p;
      }
      ByteBuffer in = raw.getBuffer();
      int limit = in.limit();
      // never decode more than dst can take: framing bytes only make the slice smaller
      in.limit((int) Math.min(limit, (long) in.position() + dst.remaining()));
      ByteBuffer slice;
      try {
        slice = decoder.next(in);
      } catch (ChunkedDecoder.FramingException e) {
        fail();
        throw new IOException("client sent a " + e.getMessage());
      } finally {
        in.limit(limit);
      }
      if (slice != null) {
        total += slice.remaining();
        dst.put(slice);
      }
      if (decoder.isDone()) {
        done = true;
        if (raw != null && raw.getBuffer().hasRemaining()) {
          connection.ungetRequestBytes(raw); // a pipelined request follows
        } else if (raw != null) {
          raw.close();
        }
        raw = null;
        Connectors.terminateRequest(exchange);
        return total == 0 ? -1 : total;
      }
    }
    return total;
  }

  private void fail() {
    failed = true;
    exchange.setPersistent(false);
    if (raw != null) {
      raw.close();
      raw = null;
    }
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    for (int i = offset; i < offset + length; i++) {
      if (dsts[i].hasRemaining()) {
        return read(dsts[i]);
      }
    }
    return 0;
  }

  @Override
  public long transferTo(long position, long count, FileChannel target) throws IOException {
    return target.transferFrom(new ConduitReadableByteChannel(this), position, count);
  }

  @Override
  public long transferTo(long count, ByteBuffer throughBuffer, StreamSinkChannel target) throws IOException {
    return Conduits.transfer(this, count, throughBuffer, target);
  }

  @Override
  public void resumeReads() {
    if (raw != null && raw.getBuffer().hasRemaining()) {
      next.wakeupReads(); // data is already here; the socket may never become readable for it
    } else {
      next.resumeReads();
    }
  }

  @Override
  public void awaitReadable() throws IOException {
    if (raw == null || !raw.getBuffer().hasRemaining()) {
      next.awaitReadable();
    }
  }

  @Override
  public void awaitReadable(long time, TimeUnit timeUnit) throws IOException {
    if (raw == null || !raw.getBuffer().hasRemaining()) {
      next.awaitReadable(time, timeUnit);
    }
  }

  @Override
  public void terminateReads() throws IOException {
    if (!done) {
      exchange.setPersistent(false);
      if (raw != null) {
        raw.close();
        raw = null;
      }
    }
    done = true;
  }

  @Override
  public boolean isReadShutdown() {
    return done || next.isReadShutdown();
  }
}
