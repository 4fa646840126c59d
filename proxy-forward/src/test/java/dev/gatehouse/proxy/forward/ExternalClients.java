package dev.gatehouse.proxy.forward;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs curl and Python's requests as clients; a test is skipped (with the reason) when one is missing. */
final class ExternalClients {
  private ExternalClients() {}

  /** What a process printed, and how it ended. */
  record Result(int exit, String out, String err) {}

  static Result run(List<String> command) throws Exception {
    Path out = Files.createTempFile("client", ".out");
    Path err = Files.createTempFile("client", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
      Map<String, String> env = pb.environment();
      for (String v : List.of("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY",
          "all_proxy", "ALL_PROXY", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")) {
        env.remove(v);
      }
      Process p = pb.start();
      if (!p.waitFor(40, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(command.get(0) + " did not finish within 40 s");
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static boolean works(List<String> command) {
    try {
      return run(command).exit() == 0;
    } catch (Exception | AssertionError e) {
      return false;
    }
  }

  static void assumeCurl() {
    assumeTrue(works(List.of("curl", "--version")), "curl is not installed: this test needs the curl command");
  }

  static void assumePythonRequests() {
    assumeTrue(works(List.of("python3", "-c", "import requests")),
        "python3 with the requests package is not installed: this test needs it");
  }

  /** curl through {@code proxyPort}, trusting only {@code caPem}, verbose (the certificate shows in err). */
  static Result curl(int proxyPort, Path caPem, String url, String... more) throws Exception {
    List<String> c = new ArrayList<>(List.of("curl", "-q", "-sS", "-v", "--max-time", "20", "--cacert",
        caPem.toString(), "-x", "http://127.0.0.1:" + proxyPort));
    c.addAll(List.of(more));
    c.add(url);
    return run(c);
  }

  /** Python requests through {@code proxyPort} with {@code verify=caPem}; prints the status and the body. */
  static Result pythonRequests(int proxyPort, Path caPem, String url) throws Exception {
    String script = String.join("\n",
        "import sys, requests",
        "r = requests.get(sys.argv[1], proxies={'https': sys.argv[2]}, verify=sys.argv[3], timeout=20)",
        "print(r.status_code)",
        "print(r.text)");
    return run(List.of("python3", "-c", script, url, "http://127.0.0.1:" + proxyPort, caPem.toString()));
  }

  static Path pemFile(String pem) throws IOException {
    Path f = Files.createTempFile("ca", ".pem");
    f.toFile().deleteOnExit();
    Files.writeString(f, pem);
    return f;
  }
}
