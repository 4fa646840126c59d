package dev.gatehouse.proxy.forward;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A local HTTPS origin (the JDK's HttpsServer) with a self-signed certificate for 127.0.0.1 made at
 * test time by the JDK's keytool; {@link #clientContext()} trusts exactly that certificate.
 */
final class TlsOrigin implements AutoCloseable {
  private static final char[] PASSWORD = "changeit".toCharArray();
  private static KeyStore keyStore;

  private final HttpsServer server;
  private final ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
    Thread t = new Thread(r, "tls-origin");
    t.setDaemon(true);
    return t;
  });

  TlsOrigin() throws Exception {
    server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.setHttpsConfigurator(new HttpsConfigurator(serverContext()));
    server.setExecutor(executor);
    server.createContext("/", exchange -> {
      byte[] in;
      try (InputStream body = exchange.getRequestBody()) {
        in = body.readAllBytes();
      }
      byte[] out = in.length > 0 ? in
          : ("secure hello " + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain");
      exchange.sendResponseHeaders(200, out.length);
      try (OutputStream os = exchange.getResponseBody()) {
        os.write(out);
      }
    });
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  String url(String path) {
    return "https://127.0.0.1:" + port() + path;
  }

  static synchronized KeyStore keyStore() throws Exception {
    if (keyStore == null) {
      Path dir = Files.createTempDirectory("gatehouse-tls");
      Path file = dir.resolve("origin.p12");
      String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
      Process p = new ProcessBuilder(List.of(keytool, "-genkeypair", "-alias", "origin", "-keyalg", "EC",
          "-groupname", "secp256r1", "-dname", "CN=127.0.0.1", "-ext", "san=ip:127.0.0.1,dns:localhost",
          "-validity", "2", "-keystore", file.toString(), "-storetype", "PKCS12", "-storepass", "changeit",
          "-keypass", "changeit")).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("keytool failed: " + output);
      }
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (FileInputStream in = new FileInputStream(file.toFile())) {
        ks.load(in, PASSWORD);
      }
      Files.delete(file);
      Files.delete(dir);
      keyStore = ks;
    }
    return keyStore;
  }

  static SSLContext serverContext() throws Exception {
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keyStore(), PASSWORD);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    return ctx;
  }

  /** A client context that trusts the origin's certificate (and nothing else). */
  static SSLContext clientContext() throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("origin", keyStore().getCertificate("origin"));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
