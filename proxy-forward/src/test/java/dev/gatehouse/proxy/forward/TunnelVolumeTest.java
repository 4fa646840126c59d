package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * 50 MiB each way at once through one CONNECT tunnel. Runs in its own Surefire execution with the heap
 * capped (see the module's pom), so a tunnel that buffered instead of applying backpressure would fail
 * with OutOfMemoryError.
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
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(dest.port())));
         RawHttp c = RawHttp.connect(proxy.port())) {
      holder = dest;
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
    }
  }

  private static volatile TcpPeer holder;

  private static TcpPeer dest() {
    return holder;
  }
}
