package dev.gatehouse.proxy.auth;

import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** The answers of the authentication filters. Descriptions are fixed texts, never client bytes. */
final class Challenges {
  private Challenges() {}

  /** A quoted-string for a challenge parameter; callers pass validated tokens or fixed texts. */
  static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /** 401 with a challenge and a short text body. */
  static CompletionStage<ProxyResponse> unauthorized(String challenge, String text) {
    ProxyResponse r = ProxyResponse.of(401, text + "\n");
    r.headers().set("WWW-Authenticate", challenge);
    return CompletableFuture.completedFuture(r);
  }

  /** Stores the principal where later filters and the access log find it. */
  static void establish(ProxyExchange exchange, Principal principal) {
    exchange.attribute(Principal.ATTRIBUTE, principal);
    if (HeaderValuesParser.isSafeValue(principal.name())) {
      exchange.attribute(AccessLog.USER, principal.name());
    }
  }
}
