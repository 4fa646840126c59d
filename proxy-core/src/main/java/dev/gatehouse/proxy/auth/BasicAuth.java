package dev.gatehouse.proxy.auth;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.CheckReturnValue;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requires HTTP Basic credentials ({@code Authorization: Basic}, RFC 7617, UTF-8) checked by a {@link
 * PasswordAuthenticator}, for routes of a reverse proxy (the forward proxy has its own {@code
 * proxyAuthentication}, on {@code Proxy-Authorization}).
 *
 * <pre>{@code
 * Route.pathPrefix("/admin")
 *     .addFilter(BasicAuth.of("admin", PasswordAuthenticator.users(Map.of("ops", System.getenv("OPS_PASSWORD")))))
 *     .to("http://admin.internal:8080");
 * }</pre>
 *
 * <p>Missing, malformed or wrong credentials get 401 with {@code WWW-Authenticate: Basic realm="...",
 * charset="UTF-8"}; an authenticator that fails gets 503; the upstream is never contacted then. The user
 * becomes the {@link Principal} (scheme {@code basic}). {@code Authorization} is removed before the
 * request goes upstream unless {@link #forwardAuthorization()}.
 */
@CheckReturnValue
public final class BasicAuth implements Filter {
  private static final Logger log = LoggerFactory.getLogger(BasicAuth.class);

  private final String realm;
  private final PasswordAuthenticator authenticator;
  private final boolean forward;
  private final String challenge;

  private BasicAuth(String realm, PasswordAuthenticator authenticator, boolean forward) {
    this.realm = realm;
    this.authenticator = authenticator;
    this.forward = forward;
    this.challenge = "Basic realm=" + Challenges.quote(realm) + ", charset=\"UTF-8\"";
  }

  /**
   * A filter asking for credentials in {@code realm}, checked by {@code authenticator}.
   *
   * @throws IllegalArgumentException if the realm has characters a quoted string cannot carry
   */
  public static BasicAuth of(String realm, PasswordAuthenticator authenticator) {
    Objects.requireNonNull(realm, "realm");
    Objects.requireNonNull(authenticator, "authenticator");
    if (realm.isEmpty() || !realm.chars().allMatch(c -> c >= 0x20 && c < 0x7F && c != '"' && c != '\\')) {
      throw new IllegalArgumentException("realm: \"" + realm + "\" (expected: printable ASCII without quotes or backslashes)");
    }
    return new BasicAuth(realm, authenticator, false);
  }

  /** A filter like this one that sends {@code Authorization} upstream too. */
  public BasicAuth forwardAuthorization() {
    return new BasicAuth(realm, authenticator, true);
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    List<String> auth = exchange.request().headers().getAll("Authorization");
    Credentials credentials = auth.size() == 1 ? decode(auth.get(0)) : null;
    if (credentials == null) {
      return Challenges.unauthorized(challenge, "Unauthorized");
    }
    CompletionStage<Boolean> check;
    try {
      check = authenticator.authenticate(credentials.user(), credentials.password(), exchange);
    } catch (RuntimeException e) {
      check = CompletableFuture.failedFuture(e);
    }
    if (check == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("PasswordAuthenticator returned null (expected: a CompletionStage)"));
    }
    return check.handle((ok, error) -> {
      if (error != null) {
        log.warn("Basic authentication check failed: {}", error.toString());
        return CompletableFuture.completedFuture(ProxyResponse.of(503, "Service Unavailable: credentials cannot be checked now\n"));
      }
      if (!Boolean.TRUE.equals(ok)) {
        return Challenges.unauthorized(challenge, "Unauthorized");
      }
      Challenges.establish(exchange, Principal.of(credentials.user(), "basic"));
      if (!forward) {
        exchange.request().headers().remove("Authorization");
      }
      return chain.proceed();
    }).thenCompose(stage -> stage);
  }

  /** A {@code Basic} credential's parts. */
  record Credentials(String user, String password) {}

  /** User and password from a {@code Basic} credential, or null when it is not a well-formed one. */
  static @Nullable Credentials decode(String value) {
    if (!value.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    byte[] raw;
    try {
      raw = Base64.getDecoder().decode(value.substring(6).trim());
    } catch (IllegalArgumentException e) {
      return null;
    }
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
    int colon = text.indexOf(':');
    if (colon <= 0 || text.chars().anyMatch(c -> c < 0x20 || c == 0x7F)) {
      return null;
    }
    return new Credentials(text.substring(0, colon), text.substring(colon + 1));
  }

  @Override
  public String toString() {
    return "BasicAuth(" + realm + ")";
  }
}
