package dev.gatehouse.proxy.internal.tls.handover;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;

class ClientHelloTest {

  /** The first flight of a JDK client: a real ClientHello. */
  static ByteBuffer hello(String sni, String... alpn) throws Exception {
    SSLEngine e = SSLContext.getDefault().createSSLEngine("ignored", 443);
    e.setUseClientMode(true);
    SSLParameters p = e.getSSLParameters();
    p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
    p.setApplicationProtocols(alpn);
    e.setSSLParameters(p);
    ByteBuffer out = ByteBuffer.allocate(e.getSession().getPacketBufferSize());
    e.wrap(ByteBuffer.allocate(0), out);
    return out.flip();
  }

  @Test
  void readsTheServerNameAndTheOfferedProtocols() throws Exception {
    ByteBuffer bytes = hello("www.example.com", "h2", "http/1.1");
    int before = bytes.position();

    ClientHello h = ClientHello.parse(bytes);

    assertThat(h.kind()).isEqualTo(ClientHello.Kind.TLS);
    assertThat(h.serverName()).isEqualTo("www.example.com");
    assertThat(h.protocols()).containsExactly("h2", "http/1.1");
    assertThat(bytes.position()).isEqualTo(before); // only looked at
  }

  @Test
  void aHelloWithoutExtensionsOfInterestHasNoNameAndNoProtocols() throws Exception {
    ClientHello h = ClientHello.parse(hello(null));

    assertThat(h.kind()).isEqualTo(ClientHello.Kind.TLS);
    assertThat(h.serverName()).isNull();
    assertThat(h.protocols()).isEmpty();
  }

  @Test
  void asksForMoreUntilTheWholeHelloIsThereHoweverItIsSplit() throws Exception {
    ByteBuffer whole = hello("split.example");
    for (int cut = 0; cut < whole.remaining(); cut += 7) {
      ByteBuffer part = whole.duplicate();
      part.limit(part.position() + cut);
      assertThat(ClientHello.parse(part).kind()).as("after %d bytes", cut).isEqualTo(ClientHello.Kind.NEED_MORE);
    }
    assertThat(ClientHello.parse(whole).serverName()).isEqualTo("split.example");
  }

  @Test
  void aHelloSpreadOverSeveralRecordsIsReassembled() throws Exception {
    ByteBuffer whole = hello("records.example", "h2");
    byte[] record = new byte[whole.remaining()];
    whole.get(record);
    int length = record.length - 5;
    int first = length / 2;
    ByteBuffer two = ByteBuffer.allocate(record.length + 5);
    two.put(new byte[] {22, 3, 1, (byte) (first >> 8), (byte) first}).put(record, 5, first);
    int second = length - first;
    two.put(new byte[] {22, 3, 1, (byte) (second >> 8), (byte) second}).put(record, 5 + first, second);

    ClientHello h = ClientHello.parse(two.flip());

    assertThat(h.serverName()).isEqualTo("records.example");
    assertThat(h.protocols()).containsExactly("h2");
  }

  @Test
  void plainTextIsNotTlsFromItsFirstByte() {
    assertThat(ClientHello.parse(ByteBuffer.wrap("G".getBytes(StandardCharsets.US_ASCII))).kind())
        .isEqualTo(ClientHello.Kind.NOT_TLS);
    assertThat(ClientHello.parse(ByteBuffer.wrap(new byte[] {22, 7})).kind()).isEqualTo(ClientHello.Kind.NOT_TLS);
    assertThat(ClientHello.parse(ByteBuffer.allocate(0)).kind()).isEqualTo(ClientHello.Kind.NEED_MORE);
  }

  @Test
  void otherHandshakeMessagesAndBrokenLengthsAreMalformed() {
    assertThat(ClientHello.parse(ByteBuffer.wrap(new byte[] {22, 3, 1, 0, 4, 2, 0, 0, 0})).problem())
        .isEqualTo("a handshake message of type 2 instead of a ClientHello");
    assertThat(ClientHello.parse(ByteBuffer.wrap(new byte[] {22, 3, 1, 0, 0})).problem())
        .isEqualTo("a TLS record of 0 bytes");
    assertThat(ClientHello.parse(ByteBuffer.wrap(new byte[] {22, 3, 1, 0, 5, 1, 0, 0, 1, 3})).problem())
        .isEqualTo("a truncated ClientHello");
    assertThat(ClientHello.parse(ByteBuffer.wrap(new byte[] {22, 3, 1, 0, 4, 1, 1, 0, 1})).problem())
        .isEqualTo("a ClientHello of 65541 bytes (expected: at most 65536)");
  }

  @Test
  void aServerNameWithControlBytesIsMalformed() throws Exception {
    ByteBuffer b = hello("abc.example");
    byte[] a = new byte[b.remaining()];
    b.get(a);
    String text = new String(a, StandardCharsets.ISO_8859_1);
    int i = text.indexOf("abc.example");
    a[i + 3] = '\n';

    assertThat(ClientHello.parse(ByteBuffer.wrap(a)).problem()).isEqualTo("a server name with a byte 0xa");
  }
}
