package dev.gatehouse.proxy.forward;

import dev.gatehouse.proxy.forward.internal.mitm.Certificates;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.SSLSessionInfo;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManagerFactory;
import org.xnio.Options;

/**
 * A local HTTPS origin (plain Undertow) with a certificate from a CA of its own ({@link Ca}), HTTP/2 by
 * ALPN when asked. It answers {@code hello <path> over <protocol>} (or echoes a request body) and records
 * what it received, including the TLS server name (SNI) the client sent.
 */
final class TestOrigin implements AutoCloseable {

  /** What the origin received. */
  record Received(String method, String path, String protocol, Map<String, String> headers, String serverName) {}

  /** A CA for test origins, written out as PEM for the proxy's upstream trust. */
  static final class Ca {
    final KeyPair keys = Certificates.keyPair("EC");
    final X509Certificate certificate;
    final Path pem;

    Ca(String name) throws IOException {
      Instant now = Instant.now();
      certificate = Certificates.authority(keys, name, now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(30)));
      pem = Files.createTempFile("origin-ca", ".pem");
      pem.toFile().deleteOnExit();
      Files.writeString(pem, pem(certificate));
    }

    /** A server certificate for {@code host} valid from {@code from} to {@code to}. */
    X509Certificate issue(KeyPair key, String host, Instant from, Instant to) {
      return Certificates.leaf(certificate, keys.getPrivate(), key.getPublic(), host, from, to);
    }

    /** A client context trusting this CA only. */
    SSLContext trustingContext() throws Exception {
      return trusting(certificate);
    }
  }

  static SSLContext trusting(X509Certificate... roots) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    for (int i = 0; i < roots.length; i++) {
      trust.setCertificateEntry("root-" + i, roots[i]);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  static String pem(X509Certificate cert) {
    try {
      return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
          .encodeToString(cert.getEncoded()) + "\n-----END CERTIFICATE-----\n";
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
  final X509Certificate certificate;
  private final Undertow server;
  private final int port;

  /** An origin whose certificate for {@code host} is issued by {@code ca}, valid now. */
  TestOrigin(Ca ca, String host, boolean http2) throws Exception {
    this(ca, host, Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(2)), http2);
  }

  TestOrigin(Ca ca, String host, Instant from, Instant to, boolean http2) throws Exception {
    KeyPair key = Certificates.keyPair("EC");
    certificate = ca.issue(key, host, from, to);
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("origin", key.getPrivate(), new char[0], new Certificate[] {certificate, ca.certificate});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, new char[0]);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    server = Undertow.builder()
        .setIoThreads(1)
        .setWorkerThreads(2)
        .setServerOption(UndertowOptions.ENABLE_HTTP2, http2)
        .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, -1L)
        .setSocketOption(Options.REUSE_ADDRESSES, true)
        .addHttpsListener(0, "127.0.0.1", ctx)
        .setHandler(this::handle)
        .build();
    server.start();
    port = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
  }

  private final io.undertow.server.HttpHandler websocket = io.undertow.Handlers.websocket((exchange, channel) -> {
    channel.getReceiveSetter().set(new io.undertow.websockets.core.AbstractReceiveListener() {
      @Override
      protected void onFullTextMessage(io.undertow.websockets.core.WebSocketChannel ch,
          io.undertow.websockets.core.BufferedTextMessage message) {
        io.undertow.websockets.core.WebSockets.sendText("echo " + message.getData(), ch, null);
      }
    });
    channel.resumeReceives();
  });

  private void handle(HttpServerExchange exchange) throws Exception {
    if (exchange.getRequestPath().equals("/ws")) {
      websocket.handleRequest(exchange);
      return;
    }
    if (exchange.isInIoThread()) {
      exchange.dispatch(() -> {
        try {
          handle(exchange);
        } catch (Exception e) {
          exchange.setStatusCode(500);
          exchange.endExchange();
        }
      });
      return;
    }
    exchange.startBlocking();
    byte[] body;
    try {
      body = exchange.getInputStream().readAllBytes();
    } catch (IOException e) {
      exchange.setStatusCode(500);
      exchange.endExchange();
      return;
    }
    Map<String, String> headers = new LinkedHashMap<>();
    for (HeaderValues hv : exchange.getRequestHeaders()) {
      headers.put(hv.getHeaderName().toString().toLowerCase(Locale.ROOT), String.join(", ", hv));
    }
    received.add(new Received(exchange.getRequestMethod().toString(), exchange.getRequestURI()
        + (exchange.getQueryString().isEmpty() ? "" : "?" + exchange.getQueryString()),
        exchange.getProtocol().toString(), headers, serverName(exchange)));
    byte[] out = body.length > 0 ? body
        : ("hello " + exchange.getRequestURI() + " over " + exchange.getProtocol()).getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain");
    if (exchange.getRequestPath().startsWith("/cacheable")) {
      exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "public, max-age=600");
    }
    exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, out.length);
    exchange.getResponseSender().send(ByteBuffer.wrap(out));
  }

  private static String serverName(HttpServerExchange exchange) {
    SSLSessionInfo info = exchange.getConnection().getSslSessionInfo();
    SSLSession session = info == null ? null : info.getSSLSession();
    if (session instanceof ExtendedSSLSession) {
      for (SNIServerName n : ((ExtendedSSLSession) session).getRequestedServerNames()) {
        if (n instanceof SNIHostName) {
          return ((SNIHostName) n).getAsciiName();
        }
      }
    }
    return null;
  }

  int port() {
    return port;
  }

  Received next() throws InterruptedException {
    Received r = received.poll(10, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("the origin received nothing within 10 s");
    }
    return r;
  }

  @Override
  public void close() {
    server.stop();
  }

  static List<Object> san(X509Certificate cert) throws Exception {
    return List.copyOf(cert.getSubjectAlternativeNames().iterator().next());
  }
}
