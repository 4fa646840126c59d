package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.internal.http1.HttpDuties;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpServerConnection;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Protocols;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.conduits.ConduitStreamSinkChannel;

/**
 * Forwards 1xx interim responses other than 100 (e.g. 103 Early Hints) to HTTP/1.1 clients, before the
 * final response. Undertow only knows how to send 100; the bytes are written on the connection before
 * the response starts. HTTP/1.0 clients must not get them (RFC 9110 §15.2) and HTTP/2 clients do not
 * (Undertow cannot send an interim HEADERS frame); both simply get the final response.
 */
public final class InterimResponses {
  private static final Logger log = LoggerFactory.getLogger(InterimResponses.class);

  private InterimResponses() {}

  public static void forward(HttpServerExchange hse, int status, String reason, HeaderMap headers) {
    if (!Protocols.HTTP_1_1.equals(hse.getProtocol()) || hse.isResponseStarted()
        || !(hse.getConnection() instanceof HttpServerConnection)) {
      return;
    }
    StringBuilder sb = new StringBuilder(256);
    sb.append("HTTP/1.1 ").append(status).append(' ').append(reason.isEmpty() ? "Informational" : reason).append("\r\n");
    for (HeaderValues values : headers) {
      if (HttpDuties.isHopByHopOrFraming(values.getHeaderName())) {
        continue;
      }
      for (String v : values) {
        sb.append(values.getHeaderName()).append(": ").append(v).append("\r\n");
      }
    }
    sb.append("\r\n");
    ByteBuffer bytes = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
    ConduitStreamSinkChannel sink = ((HttpServerConnection) hse.getConnection()).getChannel().getSinkChannel();
    try {
      while (bytes.hasRemaining()) {
        if (sink.write(bytes) == 0) {
          break;
        }
      }
      sink.flush();
    } catch (IOException e) {
      IoUtils.safeClose(hse.getConnection());
      return;
    }
    if (bytes.hasRemaining()) {
      // A fresh exchange whose socket cannot take a few hundred bytes: never leave half an interim
      // response on the wire.
      log.debug("client {} not writable for a {} interim response; closing", hse.getSourceAddress(), status);
      IoUtils.safeClose(hse.getConnection());
    }
  }
}
