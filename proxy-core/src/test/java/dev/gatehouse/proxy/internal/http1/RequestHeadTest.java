package dev.gatehouse.proxy.internal.http1;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.internal.exchange.RequestImpl;
import dev.gatehouse.proxy.spi.HeaderField;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HttpString;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The upstream head encoder's own check, the last line of defence whatever produced the request: the
 * fields are put into the map directly here, past every validator, as a future code path might.
 */
class RequestHeadTest {

  private static RequestImpl request(String name, String value) {
    HttpServerExchange hse = new HttpServerExchange(null);
    hse.setRequestMethod(new HttpString("GET"));
    hse.getRequestHeaders().add(new HttpString("Host"), "example.test");
    if (name != null) {
      hse.getRequestHeaders().add(new HttpString(name), value);
    }
    return new RequestImpl(hse, "http", null, "/a", "", 0, false);
  }

  @Test
  void aCleanRequestMayBeSent() {
    assertThat(RequestHead.unsafeHead(request("X-A", "v w\tx"), "/a?b=c", List.of())).isNull();
  }

  @Test
  void valuesWithCrLfOrNulAreRefused() {
    assertThat(RequestHead.unsafeHead(request("X-A", "v\r\nTransfer-Encoding: chunked"), "/a", List.of()))
        .isEqualTo("field X-A has a value with CR, LF or NUL");
    assertThat(RequestHead.unsafeHead(request("X-A", "v\nx: 1"), "/a", List.of())).isNotNull();
    assertThat(RequestHead.unsafeHead(request("X-A", "v\rx"), "/a", List.of())).isNotNull();
    assertThat(RequestHead.unsafeHead(request("X-A", "v\0x"), "/a", List.of())).isNotNull();
  }

  @Test
  void namesThatAreNotTokensAreRefused() {
    assertThat(RequestHead.unsafeHead(request("x-a:x-injected", "1"), "/a", List.of()))
        .isEqualTo("field name \"x-a:x-injected\" is not a token");
    assertThat(RequestHead.unsafeHead(request("x a", "1"), "/a", List.of())).isNotNull();
  }

  @Test
  void targetsAndExtraFieldsAreCheckedToo() {
    assertThat(RequestHead.unsafeHead(request(null, null), "/a HTTP/1.1\r\nX: y", List.of()))
        .isEqualTo("request-target contains white space, a control or a character above Latin-1");
    assertThat(RequestHead.unsafeHead(request(null, null), "/a", List.of(new HeaderField("Upgrade", "websocket\r\nX: 1"))))
        .isEqualTo("field Upgrade is malformed");
  }
}
