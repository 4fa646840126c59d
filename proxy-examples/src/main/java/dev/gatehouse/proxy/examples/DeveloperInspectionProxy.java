package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.forward.CertificateAuthority;
import dev.gatehouse.proxy.forward.ForwardProxy;
import dev.gatehouse.proxy.forward.ForwardProxyBuilder;
import dev.gatehouse.proxy.forward.TlsInterception;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A developer's inspection proxy: point a local application at it ({@code -Dhttp.proxyHost=127.0.0.1
 * -Dhttp.proxyPort=8888}, or {@code http_proxy}) and see every request line it sends and the status it
 * got, as they happen. Listens on 127.0.0.1:8888 (or {@code PORT}).
 *
 * <p>HTTPS shows as one {@code CONNECT} line per tunnel, unless the proxy is given a CA, as mitmproxy
 * does: with {@code MITM_CA_CERT_FILE} and {@code MITM_CA_KEY_FILE} (PEM; made on the first run when
 * neither exists) it decrypts HTTPS and shows each request ({@code GET https://api.example.com/v1/items
 * -> 200}). The application must trust that CA certificate (see the README: curl {@code --cacert}, the
 * JDK's {@code -Djavax.net.ssl.trustStore}, Python's {@code REQUESTS_CA_BUNDLE}). {@code
 * UPSTREAM_CA_FILE} (PEM) adds a CA the proxy trusts for the servers, e.g. a local development server's.
 *
 * <pre>
 * MITM_CA_CERT_FILE=ca.pem MITM_CA_KEY_FILE=ca-key.pem java -cp gatehouse-examples.jar \
 *     dev.gatehouse.proxy.examples.DeveloperInspectionProxy
 * curl --cacert ca.pem -x http://127.0.0.1:8888 https://example.com/
 * </pre>
 */
public final class DeveloperInspectionProxy {
  private static final Logger log = LoggerFactory.getLogger("inspect");

  private DeveloperInspectionProxy() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8888"));
    Filter show = Filter.named("inspect", (exchange, chain) -> {
      long start = System.nanoTime();
      String line = exchange.request().method() + " " + exchange.request().scheme() + "://"
          + exchange.request().authority() + exchange.request().pathAndQuery();
      return chain.proceed().thenApply(response -> {
        log.info("{} -> {} ({} ms){}", line, response.status(), (System.nanoTime() - start) / 1_000_000,
            response.headers().get("Content-Type").map(t -> " " + t).orElse(""));
        return response;
      });
    });
    ForwardProxyBuilder builder = ForwardProxy.builder()
        .port(port)
        .addFilter(show)
        // and one line per exchange or tunnel once it is over, with sizes and duration
        .accessLog(AccessLog.logger("inspect.access", AccessLog.Format.COMMON));

    String caCert = System.getenv("MITM_CA_CERT_FILE");
    String caKey = System.getenv("MITM_CA_KEY_FILE");
    if (caCert != null && caKey != null) {
      CertificateAuthority ca = loadOrCreate(Path.of(caCert), Path.of(caKey));
      TlsInterception.Builder interception = TlsInterception.builder(ca);
      String upstreamCa = System.getenv("UPSTREAM_CA_FILE");
      if (upstreamCa != null) {
        interception.addUpstreamTrustPem(Path.of(upstreamCa));
      }
      builder.intercept(interception.build());
      System.out.println("Decrypting HTTPS with the CA in " + caCert + " (clients must trust it)");
    }
    ProxyServer proxy = builder.build().start();

    System.out.println("Inspection proxy on http://127.0.0.1:" + proxy.port());
    System.out.println("  curl -x http://127.0.0.1:" + proxy.port() + " http://example.com/");
    if (caCert != null) {
      System.out.println("  curl --cacert " + caCert + " -x http://127.0.0.1:" + proxy.port() + " https://example.com/");
    }
    System.out.println("  java -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=" + proxy.port()
        + " -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=" + proxy.port() + " -jar your-app.jar");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      proxy.close();
      stop.countDown();
    }));
    stop.await();
  }

  /** The CA in the two files; when neither exists, a new one written there (as mitmproxy does on its first run). */
  static CertificateAuthority loadOrCreate(Path cert, Path key) throws java.io.IOException {
    if (!Files.exists(cert) && !Files.exists(key)) {
      CertificateAuthority.generate("Gatehouse inspection CA").writePem(cert, key);
      System.out.println("Made a new CA: " + cert + " (give it to your clients) and " + key + " (keep it private)");
    }
    return CertificateAuthority.fromPem(cert, key);
  }
}
