package dev.gatehouse.proxy.cache;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.TestProxy;
import java.io.IOException;

/** A test proxy with a cache in front of one origin, and a raw client. */
final class Proxies {
  private Proxies() {}

  static ProxyServer start(Origin origin, HttpCache cache) {
    return TestProxy.builder().upstream(origin.url()).cache(cache).build().start();
  }

  /** GET {@code path} with extra header lines (each "Name: value"). */
  static RawHttp.Response get(ProxyServer proxy, String path, String... headerLines) throws IOException {
    return request(proxy, "GET", path, headerLines);
  }

  static RawHttp.Response request(ProxyServer proxy, String method, String path, String... headerLines)
      throws IOException {
    StringBuilder sb = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: example.com\r\n");
    for (String h : headerLines) {
      sb.append(h).append("\r\n");
    }
    sb.append("Connection: close\r\n\r\n");
    try (RawHttp c = RawHttp.connect(proxy.port())) {
      c.send(sb.toString());
      return c.readResponse("HEAD".equals(method));
    }
  }
}
