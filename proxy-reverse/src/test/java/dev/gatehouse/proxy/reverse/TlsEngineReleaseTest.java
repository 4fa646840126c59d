package dev.gatehouse.proxy.reverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gatehouse.proxy.internal.tls.Pem;
import dev.gatehouse.proxy.internal.tls.TlsProviders;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server engine whose client left without {@code close_notify} gives its native state back when its
 * connection closes, not when a GC finalizes it. Conscrypt 2.5 holds an {@code SSL} and the two file
 * descriptors of a pipe per engine until both directions are closed and its own {@code close_notify} is
 * wrapped out; Undertow closes inbound (the client's EOF), then outbound (the socket goes) and never
 * wraps again. The engines stay referenced here, so no finalizer can hide a leak. This class runs in both
 * executions (see the pom): with the JDK's TLS the same sequence holds no descriptor either.
 */
@Timeout(60)
class TlsEngineReleaseTest {
  static final boolean CONSCRYPT = Boolean.getBoolean("gatehouse.test.conscrypt");
  static final int ENGINES = 50;
  static final Path FDS = Path.of("/proc/self/fd");

  @TempDir
  static Path dir;
  static TestCerts.Issued localhost;
  static SSLContext trustCa;

  @BeforeAll
  static void setUp() throws Exception {
    TestCerts.Issued ca = TestCerts.ca(dir, "ca");
    localhost = TestCerts.leaf(dir, "localhost", ca, "localhost", "localhost");
    trustCa = TestCerts.trusting(ca);
  }

  static SSLContext server(TlsProviders.Resolved provider) {
    return TlsProviders.serverContext(provider,
        Pem.keyManagers(Pem.keyStore("test", localhost.chain(), localhost.key()), new char[0]), null);
  }

  static TlsProviders.Resolved provider() {
    return TlsProviders.resolve("tls.provider", TlsProviders.Choice.AUTO, List.of("TLSv1.3", "TLSv1.2"), null);
  }

  @Test
  void abruptlyClosedServerEnginesHoldNoPipes() throws Exception {
    assumeTrue(Files.isDirectory(FDS), "counts descriptors through /proc (Linux)");
    TlsProviders.Resolved provider = provider();
    assertThat(provider.conscrypt()).isEqualTo(CONSCRYPT);
    SSLContext ctx = server(provider);
    List<SSLEngine> kept = new ArrayList<>();
    abruptlyClosed(ctx, kept); // classes loaded
    long before = count();
    for (int i = 0; i < ENGINES; i++) {
      abruptlyClosed(ctx, kept);
    }
    assertThat(count()).as("pipes after %d abruptly closed engines (%s)", ENGINES, provider.name())
        .isLessThanOrEqualTo(before + 5);
    assertThat(kept).hasSize(ENGINES + 1).allSatisfy(e -> assertThat(e.isInboundDone()).isTrue());

    if (CONSCRYPT) {
      // the same with Conscrypt's own context (no release): the leak this guards against
      SSLContext raw = TlsProviders.context(provider,
          Pem.keyManagers(Pem.keyStore("test", localhost.chain(), localhost.key()), new char[0]), null);
      long rawBefore = count();
      for (int i = 0; i < ENGINES; i++) {
        abruptlyClosed(raw, kept);
      }
      // two per engine; other test classes' engines finalized meanwhile may close a few
      assertThat(count()).as("pipes held by unreleased engines").isGreaterThanOrEqualTo(rawBefore + ENGINES);
    }
  }

  /** A whole TLS 1.3 handshake in memory, then closed as Undertow does after a client's EOF. */
  private static void abruptlyClosed(SSLContext serverCtx, List<SSLEngine> kept) throws Exception {
    SSLEngine client = trustCa.createSSLEngine("localhost", 443);
    client.setUseClientMode(true);
    SSLEngine server = serverCtx.createSSLEngine();
    server.setUseClientMode(false);
    handshake(client, server);
    try {
      server.closeInbound();
    } catch (javax.net.ssl.SSLException e) {
      // the JDK's engine says the peer sent no close_notify; Undertow logs it and goes on
    }
    server.closeOutbound();
    kept.add(server);
  }

  /** The process's open pipes (Conscrypt 2.5 opens one per engine; little else here does). */
  private static long count() throws IOException {
    try (Stream<Path> s = Files.list(FDS)) {
      return s.filter(TlsEngineReleaseTest::isPipe).count();
    }
  }

  private static boolean isPipe(Path fd) {
    try {
      return Files.readSymbolicLink(fd).toString().startsWith("pipe:");
    } catch (IOException e) {
      return false; // closed meanwhile
    }
  }

  private static void handshake(SSLEngine client, SSLEngine server) throws Exception {
    int size = 64 * 1024;
    ByteBuffer c2s = ByteBuffer.allocate(size);
    ByteBuffer s2c = ByteBuffer.allocate(size);
    ByteBuffer app = ByteBuffer.allocate(size);
    ByteBuffer empty = ByteBuffer.allocate(0);
    client.beginHandshake();
    server.beginHandshake();
    for (int i = 0; i < 100 && !(done(client) && done(server)); i++) {
      step(client, empty, c2s, s2c, app);
      step(server, empty, s2c, c2s, app);
    }
    assertThat(done(client) && done(server)).as("handshake completed").isTrue();
  }

  private static boolean done(SSLEngine e) {
    SSLEngineResult.HandshakeStatus s = e.getHandshakeStatus();
    return s == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING || s == SSLEngineResult.HandshakeStatus.FINISHED;
  }

  private static void step(SSLEngine e, ByteBuffer empty, ByteBuffer out, ByteBuffer in, ByteBuffer app)
      throws Exception {
    Runnable task;
    while ((task = e.getDelegatedTask()) != null) {
      task.run();
    }
    e.wrap(empty, out);
    in.flip();
    while (in.hasRemaining()) {
      SSLEngineResult r = e.unwrap(in, app);
      while ((task = e.getDelegatedTask()) != null) {
        task.run();
      }
      if (r.getStatus() != SSLEngineResult.Status.OK || r.bytesConsumed() == 0) {
        break;
      }
    }
    in.compact();
    app.clear();
  }
}
