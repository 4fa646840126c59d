package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.internal.upstream.BufferBudget;
import dev.gatehouse.proxy.testsupport.Engines;
import dev.gatehouse.proxy.testsupport.RawHttp;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * 50 MiB each way at once through one CONNECT tunnel. Runs in its own Surefire execution with the heap
 * capped (see the module's pom), so a tunnel that buffered instead of applying backpressure would fail
 * with OutOfMemoryError. A bulk tunnel's buffers beyond one per direction are charged to the proxy-wide
 * buffer budget ({@code responseBufferMemoryLimit}): never more than three per direction, all given back
 * when the tunnel ends, and with no budget at all the tunnel still moves everything with one buffer each way.
 */
@Timeout(120)
class TunnelVolumeTest {
  static final long VOLUME = 50L * 1024 * 1024;

  /** Writes {@code VOLUME} pseudo-random bytes from {@code seed}; returns their SHA-256. */
  static String send(OutputStream out, long seed) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    Random random = new Random(seed);
    byte[] chunk = new byte[64 * 1024];
    for (long sent = 0; sent < VOLUME; sent += chunk.length) {
      random.nextBytes(chunk);
      md.update(chunk);
      out.write(chunk);
    }
    out.flush();
    return HexFormat.of().formatHex(md.digest());
  }

  /** Reads exactly {@code VOLUME} bytes; returns their SHA-256. */
  static String receive(InputStream in) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    byte[] buf = new byte[64 * 1024];
    long got = 0;
    while (got < VOLUME) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, VOLUME - got));
      if (n < 0) {
        throw new AssertionError("stream ended after " + got + " bytes");
      }
      md.update(buf, 0, n);
      got += n;
    }
    return HexFormat.of().formatHex(md.digest());
  }

  @Test
  void fiftyMebibytesEachWayPassThroughATunnelIntactWithABoundedHeap() throws Exception {
    // runs in the heap-capped tunnel-volume execution (-Xmx64m, mvn verify): 50 MiB cannot be buffered
    org.assertj.core.api.Assertions.assertThat(Runtime.getRuntime().maxMemory()).isLessThanOrEqualTo(128L * 1024 * 1024);
    long peak = transfer(Fwd.builder());
    // two directions, at most three 16 KiB buffers each beyond the first
    assertThat(peak).as("bulk buffers charged at the peak").isPositive().isLessThanOrEqualTo(2 * 3 * 16 * 1024);
  }

  @Test
  void withTheBufferBudgetSpentATunnelMovesEverythingWithOneBufferEachWay() throws Exception {
    long peak = transfer(Fwd.builder().responseBufferMemoryLimit(0));
    assertThat(peak).isZero();
  }

  @Test
  void aTunnelCutOffInTheMiddleOfABulkTransferGivesItsBuffersBack() throws Exception {
    CompletableFuture<java.net.Socket> atDestination = new CompletableFuture<>();
    CountDownLatch done = new CountDownLatch(1);
    try (TcpPeer dest = new TcpPeer(s -> {
           atDestination.complete(s);
           s.getInputStream().read(new byte[1]); // one byte, then no more: the proxy's writes back up
           done.await(); // holds the socket (unread) until the test is over
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port())));
         RawHttp c = RawHttp.connect(proxy.port())) {
      holder = dest;
      BufferBudget budget = Engines.of(proxy).bufferBudget();
      String t = "127.0.0.1:" + dest.port();
      c.send("CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n\r\n");
      assertThat(c.readResponse().status).isEqualTo(200);
      AtomicBoolean sending = new AtomicBoolean(true);
      CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
        byte[] chunk = new byte[64 * 1024];
        try {
          while (sending.get()) {
            c.output().write(chunk); // blocks once every buffer on the way is full
          }
        } catch (java.io.IOException e) {
          // the tunnel was cut: expected
        }
      });
      await("the stalled transfer holds its extra buffers", () -> budget.used() >= 3 * 16 * 1024);
      assertThat(budget.used()).as("a bulk transfer stalled by its destination holds its extra buffers")
          .isEqualTo(3 * 16 * 1024);
      java.net.Socket s = atDestination.get(10, TimeUnit.SECONDS);
      s.setSoLinger(true, 0);
      s.close(); // a reset: the proxy's next write to the destination fails and ends the tunnel
      await("the cut tunnel gives its buffers back", () -> budget.used() == 0);
      assertThat(budget.used()).as("charged after the tunnel was cut").isZero();
      sending.set(false);
      c.close();
      sender.get(10, TimeUnit.SECONDS);
    } finally {
      done.countDown();
    }
  }

  /**
   * Sends {@code VOLUME} bytes each way through a tunnel of a proxy built from {@code b}; returns the most
   * the proxy's buffer budget held at once, after checking that the tunnel gave it all back at its end.
   */
  private long transfer(ForwardProxyBuilder b) throws Exception {
    try (TcpPeer dest = new TcpPeer(s -> {
           CompletableFuture<String> up = CompletableFuture.supplyAsync(() -> {
             try {
               return receive(s.getInputStream());
             } catch (Exception e) {
               throw new RuntimeException(e);
             }
           });
           String sent = send(s.getOutputStream(), 2);
           String received = up.get(100, TimeUnit.SECONDS);
           s.shutdownOutput();
           dest().results.add(sent + " " + received);
         });
         ProxyServer proxy = Fwd.start(b.egress(Fwd.allowLoopback(dest.port())));
         RawHttp c = RawHttp.connect(proxy.port())) {
      holder = dest;
      BufferBudget budget = Engines.of(proxy).bufferBudget();
      String t = "127.0.0.1:" + dest.port();
      c.socket().setSoTimeout(60_000);
      c.send("CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n\r\n");
      assertThat(c.readResponse().status).isEqualTo(200);

      CompletableFuture<String> down = CompletableFuture.supplyAsync(() -> {
        try {
          return receive(c.input());
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      String sentUp = send(c.output(), 1);
      String receivedDown = down.get(100, TimeUnit.SECONDS);

      String[] atDestination = ((String) dest.nextResult()).split(" ");
      assertThat(atDestination[1]).as("what the destination received").isEqualTo(sentUp);
      assertThat(receivedDown).as("what the client received").isEqualTo(atDestination[0]);
      assertThat(c.input().read()).isEqualTo(-1);
      c.close(); // the client's end: the tunnel ends (on the proxy's I/O thread, just after)
      await("the ended tunnel gives its buffers back", () -> budget.used() == 0);
      assertThat(budget.used()).as("charged after the tunnel ended").isZero();
      return budget.peak();
    }
  }

  /** Waits until {@code condition} holds (it changes on the proxy's I/O thread), at most 20 s. */
  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.onSpinWait();
    }
  }

  private static volatile TcpPeer holder;

  private static TcpPeer dest() {
    return holder;
  }
}
