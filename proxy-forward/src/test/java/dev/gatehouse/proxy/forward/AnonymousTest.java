package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.testsupport.RawHttp;
import dev.gatehouse.proxy.testsupport.RawUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class AnonymousTest {
  private static final String IDENTIFYING = "Via: 1.1 office-gw\r\nX-Forwarded-For: 10.1.2.3\r\nForwarded: for=10.1.2.3\r\n"
      + "X-Real-IP: 10.1.2.3\r\nFrom: alice@corp.example\r\nUser-Agent: Corp/1.0 (alice)\r\nX-Keep: yes\r\n";

  @Test
  void anonymousModeStripsWhatIdentifiesTheClientAndAddsNoVia() throws Exception {
    try (RawUpstream up = RawUpstream.start(c -> {
           while (c.readRequest() != null) {
             c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nVia: 1.1 origin-cdn\r\n\r\nok");
           }
         });
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port())).anonymous("User-Agent"))) {
      RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + up.port() + "/ HTTP/1.1\r\nHost: 127.0.0.1:"
          + up.port() + "\r\n" + IDENTIFYING + "\r\n");

      assertThat(r.status).isEqualTo(200);
      assertThat(r.header("via")).isEqualTo("1.1 origin-cdn");
      RawUpstream.Request seen = up.nextRequest();
      assertThat(seen.headers).doesNotContainKeys("via", "x-forwarded-for", "forwarded", "x-real-ip", "from",
          "user-agent", "x-forwarded-proto", "x-forwarded-host");
      assertThat(seen.header("x-keep")).isEqualTo("yes");
    }
  }

  @Test
  void theCorporateDefaultAddsViaAndTellsTheClientAddress() throws Exception {
    try (RawUpstream up = RawUpstream.keepAlive("ok");
         ProxyServer proxy = Fwd.start(Fwd.builder().egress(Fwd.allowLoopback(up.port())))) {
      RawHttp.exchange(proxy.port(), "GET http://127.0.0.1:" + up.port() + "/ HTTP/1.1\r\nHost: 127.0.0.1:"
          + up.port() + "\r\n" + IDENTIFYING + "\r\n");

      RawUpstream.Request seen = up.nextRequest();
      assertThat(seen.header("via")).isEqualTo("1.1 office-gw, 1.1 gatehouse");
      assertThat(seen.header("x-forwarded-for")).isEqualTo("127.0.0.1"); // the client's own value is not trusted
      assertThat(seen.header("user-agent")).isEqualTo("Corp/1.0 (alice)");
    }
  }
}
